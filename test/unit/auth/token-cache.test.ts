import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenCache, hashToken } from '../../../src/auth/token-cache.js';

const entry = (expiresAt: number, name = 'x') => ({ expiresAt, name });
const T = 1_000_000; // ms; entries expire at T/1000 + seconds

describe('verified-token cache', () => {
  it('keys a token by its SHA-256, never the token itself', () => {
    assert.equal(hashToken('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });

  it('serves an entry until just before its exp, and never at or after it', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>();
    cache.set('k', entry(T / 1000 + 60), T);
    assert.equal(cache.get('k', T + 59_999)?.name, 'x');
    assert.equal(cache.get('k', T + 60_000), undefined);
    assert.equal(cache.size, 0, 'an expired entry is dropped when found');
  });

  it('does not store what has already expired', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>();
    cache.set('k', entry(T / 1000), T);
    assert.equal(cache.size, 0);
  });

  it('holds at most maxEntries, letting the oldest go', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>(3);
    for (const name of ['a', 'b', 'c', 'd']) cache.set(name, entry(T / 1000 + 60, name), T);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('a', T), undefined);
    assert.deepEqual(['b', 'c', 'd'].map((k) => cache.get(k, T)?.name), ['b', 'c', 'd']);
  });

  it('keeps a token stored again: its older record leaving does not take it', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>(3);
    cache.set('a', entry(T / 1000 + 60, 'first'), T);
    cache.set('a', entry(T / 1000 + 60, 'again'), T);
    cache.set('b', entry(T / 1000 + 60), T);
    cache.set('c', entry(T / 1000 + 60), T);
    assert.equal(cache.get('a', T)?.name, 'again');
    assert.equal(cache.size, 3);
  });

  it('drops an expired oldest entry on the next store, full or not', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>(10);
    cache.set('short', entry(T / 1000 + 1), T);
    cache.set('long', entry(T / 1000 + 60), T);
    cache.set('later', entry(T / 1000 + 60), T + 1_000);
    assert.equal(cache.size, 2);
  });

  it('stores nothing with maxEntries 0', () => {
    const cache = createTokenCache<ReturnType<typeof entry>>(0);
    cache.set('k', entry(T / 1000 + 60), T);
    assert.equal(cache.get('k', T), undefined);
  });

  it('costs the same per store when full, whatever its size (O(1): no scan for what to evict)', () => {
    const time = (maxEntries: number) => {
      const cache = createTokenCache<ReturnType<typeof entry>>(maxEntries);
      for (let i = 0; i < maxEntries; i++) cache.set(`fill${i}`, entry(T / 1000 + 60), T);
      const started = process.hrtime.bigint();
      for (let i = 0; i < 50_000; i++) cache.set(String(i), entry(T / 1000 + 60), T);
      return Number(process.hrtime.bigint() - started);
    };
    const ratios: number[] = [];
    for (let round = 0; round < 5; round++) ratios.push(time(10_000) / time(100));
    const median = ratios.sort((a, b) => a - b)[2]!;
    // A scan of the entries per eviction would make the large cache ~100 times slower.
    assert.ok(median < 10, `large / small cache time per store: ${median.toFixed(2)}`);
  });
});
