/**
 * The MCP conformance suite (`@modelcontextprotocol/conformance`, which needs Node 22 or later)
 * and the reference server it is run against, installed once from the npm registry into a cache
 * folder beside the system's temp files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CONFORMANCE_PACKAGES = ['@modelcontextprotocol/conformance@0.1.16', '@modelcontextprotocol/server-everything@2026.8.31'];

export interface ConformanceKit {
  /** The suite's CLI script: run it with Node 24. */
  readonly cli: string;
  /** server-everything's entry point: `node EVERYTHING stdio` or `streamableHttp`. */
  readonly everything: string;
}

export function ensureConformanceKit(): ConformanceKit {
  const prefix = path.join(tmpdir(), 'mcpmux-conformance-0.1.16');
  const kit = {
    cli: path.join(prefix, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
    everything: path.join(prefix, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
  };
  if (!existsSync(kit.cli) || !existsSync(kit.everything)) {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', ...CONFORMANCE_PACKAGES], { stdio: 'ignore', timeout: 300_000 });
  }
  return kit;
}

/** Each scenario's verdict from the suite's summary lines (`✓ ping: 1 passed, 0 failed`). */
export function parseScenarios(output: string): Map<string, boolean> {
  const scenarios = new Map<string, boolean>();
  for (const match of output.matchAll(/^([✓✗]) ([\w-]+): \d+ passed, \d+ failed$/gm)) scenarios.set(match[2]!, match[1] === '✓');
  return scenarios;
}
