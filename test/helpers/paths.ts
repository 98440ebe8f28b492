import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (tests run from dist/test/...). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MAIN = path.join(ROOT, 'dist/src/main.js');
export const DEFAULT_CONFIG = path.join(ROOT, 'deploy/examples/default.yaml');
export const SEED_CONFIG = path.join(ROOT, 'deploy/examples/seed.yaml');

/** The compiled path of a fixture in test/fixtures/. */
export function fixture(name: string): string {
  return path.join(ROOT, 'dist/test/fixtures', `${name}.js`);
}

const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, removed when this process exits. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}
