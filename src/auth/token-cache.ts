/**
 * Tokens already verified, so a busy client does not pay a signature check on every request.
 * Keyed by the SHA-256 of the token (the token itself is never kept), and each entry is served
 * only while `now < expiresAt` (the token's `exp`), never after, whatever the clock tolerance.
 *
 * Bounded: past `maxEntries`, the entry stored longest ago goes, in O(1). One cache per verifier: what a token is worth depends on the route's settings
 * (its audience above all), so a token verified for /math is never found on /echo.
 * Only successes are stored; a refusal is checked again every time.
 */
import { hash } from 'node:crypto';

export const DEFAULT_CACHE_ENTRIES = 10_000;

export interface TokenCache<T extends { readonly expiresAt: number }> {
  /** The value stored under `key`, while `nowMs` is before its `expiresAt` (unix seconds). */
  get(key: string, nowMs: number): T | undefined;
  set(key: string, value: T, nowMs: number): void;
  readonly size: number;
}

/**
 * The cache key of a token: its SHA-256, so that the cache never holds a usable token. Computed on
 * every request with a token, so one-shot: no Hash object (a stream) made and dropped each time.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

export function createTokenCache<T extends { readonly expiresAt: number }>(maxEntries = DEFAULT_CACHE_ENTRIES): TokenCache<T> {
  const entries = new Map<string, T>();
  // Insertion order in a ring of its own: a Map's own iterator walks over the holes its deletions
  // leave at the front, which made "the oldest" cost O(entries) per store when full (measured).
  const capacity = Math.max(0, maxEntries);
  const order: ({ key: string; value: T } | undefined)[] = new Array(capacity);
  let head = 0;
  let count = 0;
  const live = (value: T, nowMs: number) => nowMs < value.expiresAt * 1000;
  const dropOldest = () => {
    const oldest = order[head]!;
    // The record may be stale: its key was stored again since, or found expired and dropped.
    if (entries.get(oldest.key) === oldest.value) entries.delete(oldest.key);
    order[head] = undefined;
    head = (head + 1) % capacity;
    count--;
  };
  return {
    get(key, nowMs) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      if (live(value, nowMs)) return value;
      entries.delete(key);
      return undefined;
    },
    set(key, value, nowMs) {
      if (capacity === 0 || !live(value, nowMs)) return;
      // The oldest goes when full; an expired oldest goes anyway, so dead entries do not linger.
      if (count === capacity || (count > 0 && !live(order[head]!.value, nowMs))) dropOldest();
      entries.set(key, value);
      order[(head + count) % capacity] = { key, value };
      count++;
    },
    get size() {
      return entries.size;
    },
  };
}
