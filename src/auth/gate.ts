/**
 * Who a request is from, on a route with auth: the answer as a value the proxy acts on.
 *
 * - A static bearer token (auth.bearerTokens) admits as it always did: an operator's credential,
 *   with no claims; the policy's scope and `when` rules do not apply to it.
 * - An OAuth access token (auth.oauth) is checked by the route's token verifier (token.ts), then
 *   against the scopes the route needs on every request (policy.scopes).
 * - With both, either one admits.
 *
 * The outcome is sync when nothing needs the network or a signature check (no token, a static
 * token, a verified token still in the verifier's cache), so the common request pays no promise.
 */
import type { ResolvedAuth, ResolvedOAuth } from '../config/schema.js';
import { bearerChallenge, bearerToken, createAuthCheck, type AuthCheck } from './bearer-tokens.js';
import { buildBearerChallenge } from './challenge.js';
import { resourceMetadataUrl } from './resource-metadata.js';
import type { KeySets } from './key-sets.js';
import { createTokenVerifier, type TokenAccepted, type TokenResult, type TokenVerifier } from './token.js';

/** The label values of mcpmux_auth_requests_total. */
export type AuthResult = 'allowed' | 'missing' | 'invalid' | 'expired' | 'wrong_audience' | 'insufficient_scope' | 'denied' | 'unavailable';

/** Who called, from a verified access token. */
export interface Caller {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly scopes: ReadonlySet<string>;
  /** `client_id` (RFC 9068), else `azp`: for the access log. */
  readonly clientId: string | undefined;
  readonly subject: string | undefined;
}

export type AuthOutcome =
  /** `caller`: undefined for a static bearer token. */
  | { readonly ok: true; readonly caller: Caller | undefined }
  | {
      readonly ok: false;
      readonly result: Exclude<AuthResult, 'allowed' | 'denied'>;
      readonly status: 401 | 403 | 503;
      /** The WWW-Authenticate value (401, 403). */
      readonly challenge: string | undefined;
      readonly retryAfterSeconds?: number;
      /** Safe to show the client: says nothing of the token's content. */
      readonly description: string;
    };

export interface AuthGate {
  /** `scopes`: what the route needs on every request (its policy's `scopes`). */
  check(auth: ResolvedAuth, scopes: readonly string[], authorization: string | undefined): AuthOutcome | Promise<AuthOutcome>;
}

/** `keySets`: shared by every route and kept across reloads; each route's settings get a verifier (and a cache) of their own. */
export function createAuthGate(keySets: KeySets): AuthGate {
  const verifiers = new WeakMap<ResolvedOAuth, TokenVerifier>();
  const verifierFor = (oauth: ResolvedOAuth) => {
    let verifier = verifiers.get(oauth);
    if (!verifier) verifiers.set(oauth, (verifier = createTokenVerifier(oauth, { keySets })));
    return verifier;
  };
  /** One static-token check per auth object: a reload that changes a route's tokens makes a new one. */
  const staticChecks = new WeakMap<ResolvedAuth, AuthCheck>();
  const staticCheckOf = (auth: ResolvedAuth) => {
    let check = staticChecks.get(auth);
    if (!check) staticChecks.set(auth, (check = createAuthCheck(auth)));
    return check;
  };
  return {
    check(auth, scopes, authorization) {
      if (auth.tokens.length > 0 && staticCheckOf(auth)(authorization)) return ALLOWED_STATIC;
      const oauth = auth.oauth;
      if (!oauth) return { ok: false, result: authorization === undefined ? 'missing' : 'invalid', status: 401, challenge: bearerChallenge(auth), description: 'a valid bearer token is required' };
      const token = bearerToken(authorization);
      if (token === undefined) {
        // RFC 6750 §3.1: no error code for a request that sent no credentials (or none in the Bearer scheme).
        return { ok: false, result: 'missing', status: 401, challenge: buildBearerChallenge({ resourceMetadata: resourceMetadataUrl(oauth), scopes }), description: 'an access token is required' };
      }
      const verifier = verifierFor(oauth);
      const cached = verifier.cached(token);
      if (cached) return decide(cached, oauth, scopes);
      return verifier.verify(token).then((result) => decide(result, oauth, scopes));
    },
  };
}

const ALLOWED_STATIC: AuthOutcome = Object.freeze({ ok: true, caller: undefined });

/**
 * The outcome of a verified token that passed, made once per token (its entry in the verifier's
 * cache): a warm request reuses it, and builds nothing. A challenge's metadata URL is made only
 * for a refusal.
 */
const allowedOutcomes = new WeakMap<TokenAccepted, AuthOutcome>();

function decide(result: TokenResult, oauth: ResolvedOAuth, scopes: readonly string[]): AuthOutcome {
  if (!result.ok) {
    if (result.reason === 'unavailable') {
      return { ok: false, result: 'unavailable', status: 503, challenge: undefined, retryAfterSeconds: result.retryAfterSeconds, description: result.description };
    }
    return { ok: false, result: result.reason, status: 401, challenge: buildBearerChallenge({ resourceMetadata: resourceMetadataUrl(oauth), scopes, error: 'invalid_token', description: result.description }), description: result.description };
  }
  for (const scope of scopes) {
    if (!result.scopes.has(scope)) {
      const description = `this route needs the scope${scopes.length > 1 ? 's' : ''} ${scopes.join(' ')}`;
      return { ok: false, result: 'insufficient_scope', status: 403, challenge: buildBearerChallenge({ resourceMetadata: resourceMetadataUrl(oauth), scopes, error: 'insufficient_scope', description }), description };
    }
  }
  let allowed = allowedOutcomes.get(result);
  if (!allowed) allowedOutcomes.set(result, (allowed = Object.freeze({ ok: true, caller: callerOf(result.claims, result.scopes) })));
  return allowed;
}

function callerOf(claims: Readonly<Record<string, unknown>>, scopes: ReadonlySet<string>): Caller {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return Object.freeze({ claims, scopes, clientId: text(claims.client_id) ?? text(claims.azp), subject: text(claims.sub) });
}
