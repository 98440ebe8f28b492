/**
 * The `WWW-Authenticate: Bearer` challenges of a route with OAuth (RFC 6750 §3, RFC 9728 §5.1, and
 * the MCP spec's authorization): what a client needs to find its way to a token.
 *
 * - No token: `resource_metadata` and `scope`, and no `error` (RFC 6750 §3.1: a request that sent
 *   no credentials gets no error code).
 * - A token that fails the check: `error="invalid_token"` and a short `error_description`.
 * - A token short of scope: 403 with `error="insufficient_scope"` and every scope the request needs
 *   (a client that replaces its scope set, as the TypeScript SDK 1.32 does, must ask for them all).
 *
 * Values are quoted strings: a quote or backslash in a description is escaped, and anything outside
 * visible ASCII is dropped, so no claim or token content can break the header.
 */

export interface ChallengeParts {
  /** The route's RFC 9728 metadata URL. */
  readonly resourceMetadata: string;
  /** Scopes to ask for; none: the parameter is left out. */
  readonly scopes: readonly string[];
  readonly error?: 'invalid_token' | 'insufficient_scope' | undefined;
  readonly description?: string | undefined;
}

export function buildBearerChallenge(parts: ChallengeParts): string {
  const params = [`resource_metadata=${quote(parts.resourceMetadata)}`];
  if (parts.scopes.length > 0) params.push(`scope=${quote(parts.scopes.join(' '))}`);
  if (parts.error) params.push(`error=${quote(parts.error)}`);
  if (parts.error && parts.description) params.push(`error_description=${quote(parts.description)}`);
  return `Bearer ${params.join(', ')}`;
}

/** An RFC 9110 quoted-string of printable ASCII (RFC 6750 limits error_description to it). */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, '\\$&')}"`;
}
