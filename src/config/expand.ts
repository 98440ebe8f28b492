/**
 * The two substitutions a config supports:
 * - `${VAR}` / `${VAR:-fallback}` from mcpmux's environment, once at load time, in every string value;
 *   `$${` stands for a literal `${`.
 * - `{{port}}` per child, at spawn time, in `args` and `env` values.
 */
import type { ConfigProblem } from '../errors.js';

const ENV_REF = /\$\$\{|\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands `${VAR}` in every string of a parsed document. Unset variables become problems, never "". */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  path: readonly (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return expandString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((item, i) => expandEnv(item, env, problems, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, problems, [...path, key])]),
    );
  }
  return value;
}

function expandString(text: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[], path: readonly (string | number)[]) {
  return text.replace(ENV_REF, (match, body: string | undefined) => {
    if (body === undefined) return '${';
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!ENV_NAME.test(name)) {
      problems.push({ path: joinPath(path), message: `"${match}" is not a valid variable reference` });
      return match;
    }
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (sep !== -1) return body.slice(sep + 2);
    if (found === '') return '';
    problems.push({ path: joinPath(path), message: `environment variable ${name} is not set` });
    return match;
  });
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

/** Names every `{{…}}` that is not `{{port}}`, so typos fail at load time, not at spawn time. */
export function findUnknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter((m) => m[1] !== 'port').map((m) => m[0]);
}

/** Fills `{{port}}` with a child's port. */
export function renderPort(text: string, port: number): string {
  return text.includes('{{') ? text.replace(PLACEHOLDER, (m, name: string) => (name === 'port' ? String(port) : m)) : text;
}

/** `servers.math.args.0` style paths, as users read them. */
export function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}
