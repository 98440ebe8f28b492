/**
 * Tokens already verified, so a busy client does not pay a signature check on every request.
 * Keyed by the SHA-256 of the token (the token itself is never kept), and each entry is served
 * only while `now < expiresAt` (the token's `exp`), never after, whatever the clock tolerance.
 *
 * Bounded: past `maxEntries`, the entry stored longest ago goes (a Map keeps insertion order, so
 * that is O(1)). One cache per verifier: what a token is worth depends on the route's settings
 * (its audience above all), so a token verified for /math is never found on /echo.
 * Only successes are stored; a refusal is checked again every time.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_CACHE_ENTRIES = 10_000;

export interface TokenCache<T extends { readonly expiresAt: number }> {
  /** The value stored under `key`, while `nowMs` is before its `expiresAt` (unix seconds). */
  get(key: string, nowMs: number): T | undefined;
  set(key: string, value: T, nowMs: number): void;
  readonly size: number;
}

/** The cache key of a token: its SHA-256, so that the cache never holds a usable token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function createTokenCache<T extends { readonly expiresAt: number }>(maxEntries = DEFAULT_CACHE_ENTRIES): TokenCache<T> {
  const entries = new Map<string, T>();
  const live = (value: T, nowMs: number) => nowMs < value.expiresAt * 1000;
  return {
    get(key, nowMs) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      if (live(value, nowMs)) return value;
      entries.delete(key);
      return undefined;
    },
    set(key, value, nowMs) {
      if (maxEntries <= 0 || !live(value, nowMs)) return;
      entries.delete(key);
      // The oldest entry goes when full; an expired one goes anyway, so dead entries do not linger.
      const oldest = entries.entries().next().value;
      if (oldest && (entries.size >= maxEntries || !live(oldest[1], nowMs))) entries.delete(oldest[0]);
      entries.set(key, value);
    },
    get size() {
      return entries.size;
    },
  };
}
