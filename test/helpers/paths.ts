import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (tests run from dist/test/...). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MAIN = path.join(ROOT, 'dist/src/main.js');
export const DEFAULT_CONFIG = path.join(ROOT, 'deploy/examples/default.yaml');

/** The compiled path of a fixture in test/fixtures/. */
export function fixture(name: string): string {
  return path.join(ROOT, 'dist/test/fixtures', `${name}.js`);
}
