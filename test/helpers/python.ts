/**
 * Python with the MCP SDK 2.x and FastAPI, for the Python example tests: a venv made once in a
 * cache folder beside the system's temp files, with `pip install` from the machine's package
 * index (uv is not installable here; the examples show uv for users).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The package ranges the Python examples are written for, as their `uv run --with` pins them. */
export const PYTHON_PACKAGES = ['mcp>=2,<3', 'fastapi>=0.115,<1'] as const;
/** What the test fixtures use besides: OpenTelemetry's API (py_traced_server.py's propagator; mcp depends on it today, named here so that it stays). */
const FIXTURE_PACKAGES = ['opentelemetry-api>=1.30,<2'] as const;

/** The venv's bin folder, with `mcp` 2.x and FastAPI importable (uvicorn comes with `mcp`). */
export function ensurePythonVenv(): string {
  const venv = path.join(tmpdir(), 'mcpmux-pyvenv-mcp2');
  const bin = path.join(venv, 'bin');
  if (hasPackages(bin)) return bin;
  rmSync(venv, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore', timeout: 120_000 });
  execFileSync(path.join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', ...PYTHON_PACKAGES, ...FIXTURE_PACKAGES], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  if (!hasPackages(bin)) throw new Error(`pip installed ${[...PYTHON_PACKAGES, ...FIXTURE_PACKAGES].join(' ')} into ${venv}, but mcp.server.mcpserver, fastapi, uvicorn or opentelemetry.trace does not import`);
  return bin;
}

function hasPackages(bin: string): boolean {
  return spawnSync(path.join(bin, 'python'), ['-c', 'import mcp.server.mcpserver, mcp.client, fastapi, uvicorn, opentelemetry.trace.propagation.tracecontext'], { stdio: 'ignore' }).status === 0;
}

/**
 * A server of an example, `uv run --with SPEC… COMMAND ARGS…`, as the same command from the venv:
 * COMMAND ARGS… with COMMAND from `bin`. Throws if the example pins other packages than the venv has.
 */
export function withoutUv(server: { command: string; args: string[] }, bin: string): { command: string; args: string[] } {
  const [run, ...rest] = server.args;
  if (server.command !== 'uv' || run !== 'run') throw new Error(`expected "uv run …", got "${server.command} ${server.args.join(' ')}"`);
  while (rest[0] === '--with') {
    const spec = rest[1]!;
    if (!(PYTHON_PACKAGES as readonly string[]).includes(spec)) throw new Error(`the example pins "${spec}"; the test venv has ${PYTHON_PACKAGES.join(', ')}`);
    rest.splice(0, 2);
  }
  const [command, ...args] = rest;
  return { command: path.join(bin, command!), args };
}
