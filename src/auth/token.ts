/**
 * The access-token check of a route (mcpmux as an OAuth 2.1 resource server): a JWT signed by the
 * configured issuer with one of its published keys, for this route's audience, not expired. The
 * answer is a value, never a throw: the proxy turns a refusal into 401 `invalid_token`, and
 * `unavailable` into 503 with Retry-After (the token is not what is wrong: the keys could not be
 * had, and a 401 would send the client round an authorization loop for nothing).
 *
 * Rules, beyond jose's `jwtVerify` (`iss` exact, `aud` any of the route's, `exp` required, the
 * algorithm allow-list, the clock tolerance):
 * - `typ` is `at+jwt` (RFC 9068), `JWT`, or absent (either with `application/`); anything else
 *   (a DPoP proof, a logout token) is not an access token;
 * - a token longer than MAX_TOKEN_CHARS is refused unread;
 * - a token naming a `kid` the issuer does not publish, after a refetch that worked, is `invalid`;
 *   when the refetch fails it is `unavailable`: the token may be signed with a freshly rotated key;
 * - a verified token is kept (token-cache.ts) until its `exp`.
 * Descriptions are fixed sentences, safe in `error_description`: nothing of the token is echoed.
 */
import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { systemClock, type Clock } from '../clock.js';
import { KeySetError } from '../errors.js';
import type { KeySets } from './key-sets.js';
import { createTokenCache, DEFAULT_CACHE_ENTRIES, hashToken } from './token-cache.js';
import { normalizeTokenSettings, type TokenSettingsInput } from './token-settings.js';

/** 16 KiB: far past any real access token, and far short of what would cost to parse. */
export const MAX_TOKEN_CHARS = 16 * 1024;

export interface TokenAccepted {
  readonly ok: true;
  readonly claims: JWTPayload;
  readonly scopes: ReadonlySet<string>;
  /** The token's `exp`, in unix seconds. */
  readonly expiresAt: number;
}

export interface TokenRefused {
  readonly ok: false;
  readonly reason: 'invalid' | 'expired' | 'wrong_audience';
  readonly description: string;
}

export interface TokenUnavailable {
  readonly ok: false;
  readonly reason: 'unavailable';
  readonly retryAfterSeconds: number;
  readonly description: string;
}

export type TokenResult = TokenAccepted | TokenRefused | TokenUnavailable;

export interface TokenVerifier {
  verify(token: string): Promise<TokenResult>;
  /** The verified token from the cache, without a promise: the common request's path. */
  cached(token: string): TokenAccepted | undefined;
}

export interface TokenVerifierDeps {
  /** Shared by every route: one key set per (issuer, jwksUri). */
  readonly keySets: KeySets;
  readonly clock?: Clock;
  /** Verified tokens kept at most; 0 keeps none. Default 10 000. */
  readonly cacheEntries?: number;
}

/** A typ that is not an access token's. Thrown from the key lookup, before any key is fetched. */
class NotAnAccessToken extends Error {}
/**
 * A token whose (unverified) payload names another issuer. Refused before any key is looked up:
 * its kid is not in this issuer's key set, and a lookup would fetch keys (or, cooling down, answer
 * "not checkable yet") for a token that can never be accepted. Only ever a refusal.
 */
class ForeignIssuer extends Error {}

function namesIssuer(payload: string | Uint8Array, issuer: string): boolean {
  try {
    const text = typeof payload === 'string' ? Buffer.from(payload, 'base64url').toString('utf8') : Buffer.from(payload).toString('utf8');
    return (JSON.parse(text) as { iss?: unknown } | null)?.iss === issuer;
  } catch {
    return false;
  }
}

export function createTokenVerifier(input: TokenSettingsInput, deps: TokenVerifierDeps): TokenVerifier {
  const settings = normalizeTokenSettings(input);
  const clock = deps.clock ?? systemClock;
  const keySet = deps.keySets.keySetFor(settings.issuer, settings.jwksUri);
  const cache = createTokenCache<TokenAccepted>(deps.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  const getKey = (header: JWTHeaderParameters, token: Parameters<typeof keySet>[1]) => {
    if (!isAccessTokenType(header.typ)) throw new NotAnAccessToken();
    if (!namesIssuer(token.payload, settings.issuer)) throw new ForeignIssuer();
    return keySet(header, token);
  };
  const checks: JWTVerifyOptions = {
    issuer: settings.issuer,
    audience: [...settings.audiences],
    algorithms: [...settings.algorithms],
    clockTolerance: settings.clockToleranceSeconds,
    requiredClaims: ['exp'],
  };

  return {
    cached(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
      return cache.get(hashToken(token), clock.now());
    },
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) return refuse('invalid', 'the token is malformed');
      if (token.length > MAX_TOKEN_CHARS) return refuse('invalid', 'the token is too long');
      const key = hashToken(token);
      const now = clock.now();
      const cached = cache.get(key, now);
      if (cached) return cached;
      try {
        const claims = await verifySigned(token, getKey, { ...checks, currentDate: new Date(now) });
        const accepted = accept(claims);
        cache.set(key, accepted, clock.now());
        return accepted;
      } catch (error) {
        return explain(error);
      }
    },
  };
}

/** `at+jwt`, `JWT` (case-insensitive, with or without `application/`), or none at all. */
export function isAccessTokenType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const type = typ.toLowerCase().replace(/^application\//, '');
  return type === 'at+jwt' || type === 'jwt';
}

/** The scopes a token grants: `scope` (RFC 9068, space-separated) and `scp` (a list, or a string). */
export function readScopes(claims: JWTPayload): Set<string> {
  const scopes = new Set<string>();
  for (const value of [claims['scope'], claims['scp']]) {
    const names = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
    for (const name of names) if (typeof name === 'string' && name !== '') scopes.add(name);
  }
  return scopes;
}

/**
 * jose's jwtVerify. A token without `kid` that several published keys could have signed is tried
 * against each (jose's documented way); only a signature that fails moves on to the next key.
 */
async function verifySigned(token: string, getKey: Parameters<typeof jwtVerify>[1], options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (next) {
        if (!(next instanceof errors.JWSSignatureVerificationFailed)) throw next;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function accept(claims: JWTPayload): TokenAccepted {
  return Object.freeze({ ok: true, claims: Object.freeze(claims), scopes: readScopes(claims), expiresAt: claims.exp as number });
}

const refuse = (reason: TokenRefused['reason'], description: string): TokenRefused => ({ ok: false, reason, description });

/** What went wrong, as the verdict a client may be told. */
function explain(error: unknown): TokenRefused | TokenUnavailable {
  if (error instanceof KeySetError) {
    return { ok: false, reason: 'unavailable', retryAfterSeconds: error.retryAfterSeconds, description: "the authorization server's keys cannot be fetched now" };
  }
  if (error instanceof errors.JWTExpired) return refuse('expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return refuse('wrong_audience', 'the token is not for this resource');
      case 'iss':
        return refuse('invalid', 'the token is from another issuer');
      case 'nbf':
        return refuse('invalid', 'the token is not valid yet');
      case 'exp':
        return refuse('invalid', 'the token has no valid expiry');
      default:
        return refuse('invalid', 'the token has an invalid claim');
    }
  }
  if (error instanceof NotAnAccessToken) return refuse('invalid', 'the token is not an access token');
  if (error instanceof ForeignIssuer) return refuse('invalid', 'the token is from another issuer');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return refuse('invalid', 'the token is signed with an algorithm that is not accepted');
  if (error instanceof errors.JWKSNoMatchingKey) return refuse('invalid', 'the token is signed with a key the issuer does not publish');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('invalid', 'the token signature is invalid');
  // Malformed (JWSInvalid, JWTInvalid) and anything unforeseen: never an allow.
  return refuse('invalid', 'the token is malformed');
}
