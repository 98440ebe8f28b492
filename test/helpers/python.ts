/**
 * Python with the MCP SDK 2.x, for the Python seed test: a venv made once in a cache folder beside
 * the system's temp files, with `pip install` from the machine's package index (uv is not
 * installable here; the examples show uv for users).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The SDK range the Python examples are written for. */
export const PYTHON_MCP_SPEC = 'mcp>=2,<3';

/** The venv's python, with `mcp` 2.x importable. */
export function ensurePythonMcp(): string {
  const venv = path.join(tmpdir(), 'mcpmux-pyvenv-mcp2');
  const python = path.join(venv, 'bin', 'python');
  if (hasMcp2(python)) return python;
  rmSync(venv, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore', timeout: 120_000 });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', PYTHON_MCP_SPEC], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  if (!hasMcp2(python)) throw new Error(`pip installed "${PYTHON_MCP_SPEC}" into ${venv}, but mcp.server.mcpserver does not import`);
  return python;
}

function hasMcp2(python: string): boolean {
  return spawnSync(python, ['-c', 'import mcp.server.mcpserver, mcp.client'], { stdio: 'ignore' }).status === 0;
}
