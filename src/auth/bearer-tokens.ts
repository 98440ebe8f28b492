/**
 * Inbound bearer-token auth. Every configured token is compared, in constant time, against the
 * SHA-256 of what the client sent: neither the length nor the first differing byte of a token
 * shows in the timing, and every token is always tried.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ResolvedAuth } from '../config/schema.js';

export type AuthCheck = (authorization: string | undefined) => boolean;

const digest = (value: string) => createHash('sha256').update(value).digest();

export function createAuthCheck(auth: ResolvedAuth): AuthCheck {
  const expected = auth.tokens.map(digest);
  return (authorization) => {
    const presented = digest(bearerToken(authorization) ?? '');
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(presented, token) || ok;
    return ok && authorization !== undefined;
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization || authorization.length < 8) return undefined;
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = authorization.slice(7).trim();
  return token.length > 0 ? token : undefined;
}

/** The `WWW-Authenticate` challenge of a 401, with RFC 9728 `resource_metadata` when configured. */
export function bearerChallenge(auth: ResolvedAuth): string {
  return auth.resourceMetadataUrl ? `Bearer realm="mcpmux", resource_metadata="${auth.resourceMetadataUrl}"` : 'Bearer realm="mcpmux"';
}
