/**
 * What a route's access-token check needs (`auth.oauth` once the config resolves it), checked
 * once, with its defaults filled in, and frozen. Every problem is reported at once, as
 * `path: message`. A shared-secret (HMAC) algorithm or `none` is refused here as well as at every
 * check: a token signed with the issuer's *public* key as an HMAC secret is the classic forgery.
 */
import { ACCEPTED_ALGORITHMS, DEFAULT_ALGORITHMS } from '../config/schema.js';
import { ConfigError, type ConfigProblem } from '../errors.js';

export { ACCEPTED_ALGORITHMS, DEFAULT_ALGORITHMS };

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

export interface TokenSettingsInput {
  /** The exact `iss` of the tokens. */
  readonly issuer: string;
  /** Where the issuer's keys are; default: discovered from its metadata. */
  readonly jwksUri?: string | undefined;
  /** The token's `aud` must name one of these (the route's resource, RFC 8707). */
  readonly audiences: readonly string[];
  readonly algorithms?: readonly string[] | undefined;
  readonly clockToleranceSeconds?: number | undefined;
}

export interface TokenSettings {
  readonly issuer: string;
  readonly jwksUri?: string | undefined;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
}

/** What is wrong with an `algorithms` list, each problem at `<at>.<index>`. Empty when nothing is. */
export function checkAlgorithms(list: readonly string[], at = 'algorithms'): ConfigProblem[] {
  if (list.length === 0) return [{ path: at, message: `must name at least one algorithm (default: ${DEFAULT_ALGORITHMS.join(', ')})` }];
  const problems: ConfigProblem[] = [];
  list.forEach((alg, i) => {
    const path = `${at}.${i}`;
    if (alg === 'none') problems.push({ path, message: '"none" (an unsigned token) is never accepted' });
    else if (/^HS(256|384|512)$/.test(alg)) {
      problems.push({ path, message: `"${alg}" is a shared-secret (HMAC) algorithm and is never accepted: whoever can check such a token can also make one; use ${DEFAULT_ALGORITHMS.join(', ')}` });
    } else if (!ACCEPTED_ALGORITHMS.includes(alg)) problems.push({ path, message: `expected one of ${ACCEPTED_ALGORITHMS.join(', ')}, got ${JSON.stringify(alg)}` });
    else if (list.indexOf(alg) !== i) problems.push({ path, message: `"${alg}" is already listed` });
  });
  return problems;
}

/** The settings with their defaults, frozen; a ConfigError with every problem, each at `<at>.<field>`. */
export function normalizeTokenSettings(input: TokenSettingsInput, at = 'auth.oauth'): TokenSettings {
  const algorithms = input.algorithms ?? DEFAULT_ALGORITHMS;
  const clockToleranceSeconds = input.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const problems: ConfigProblem[] = [
    ...checkUrl(input.issuer, `${at}.issuer`, true),
    ...(input.jwksUri === undefined ? [] : checkUrl(input.jwksUri, `${at}.jwksUri`, false)),
    ...checkAlgorithms(algorithms, `${at}.algorithms`),
  ];
  if (input.audiences.length === 0) problems.push({ path: `${at}.audience`, message: 'must name at least one audience' });
  input.audiences.forEach((audience, i) => {
    if (audience === '') problems.push({ path: `${at}.audience.${i}`, message: 'must not be empty' });
  });
  if (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0) {
    problems.push({ path: `${at}.clockToleranceSeconds`, message: `expected a number of seconds, 0 or more, got ${clockToleranceSeconds}` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    issuer: input.issuer,
    ...(input.jwksUri === undefined ? {} : { jwksUri: input.jwksUri }),
    audiences: Object.freeze([...input.audiences]),
    algorithms: Object.freeze([...algorithms]),
    clockToleranceSeconds,
  });
}

/** An http(s) URL; an issuer also without query or fragment (RFC 8414 §2). */
function checkUrl(value: string, path: string, isIssuer: boolean): ConfigProblem[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ path, message: `expected an absolute URL, got ${JSON.stringify(value)}` }];
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return [{ path, message: `expected an https URL, got ${JSON.stringify(value)}` }];
  if (isIssuer && (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#'))) {
    return [{ path, message: `an issuer has no query or fragment, got ${JSON.stringify(value)}` }];
  }
  return [];
}
