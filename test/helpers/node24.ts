/**
 * Node 24, the version the image runs, from the npm registry's `node` package: installed once
 * into a cache folder beside the system's temp files, so the end-to-end tests can run under it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function ensureNode24(): string {
  const prefix = path.join(tmpdir(), `mcpmux-node24-${process.platform}-${process.arch}`);
  const bin = path.join(prefix, 'node_modules', '.bin', 'node');
  if (!existsSync(bin) || !version(bin).startsWith('v24.')) {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', 'node@24'], { stdio: 'ignore', timeout: 300_000 });
  }
  const found = version(bin);
  if (!found.startsWith('v24.')) throw new Error(`npm's node@24 gave ${found || 'nothing'} at ${bin}`);
  return bin;
}

function version(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
