import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { latestSpanTime, nanoWords, toSpanTime } from '../../../src/tracing/span-time.js';

const asBigInt = ([lo, hi]: [number, number]) => (BigInt(hi) << 32n) + BigInt(lo);

describe('span times', () => {
  it('gives the nanoseconds since the epoch exactly, as a fixed64’s two words', () => {
    for (const [ms, ns] of [[0, 0], [1, 1], [1_796_644_800_000, 123_456], [2 ** 41 - 1, 999_999], [4_294_967, 296_000], [65_535, 999_999], [65_536, 0]] as const) {
      const [lo, hi] = nanoWords([ms, ns]);
      assert.ok(lo >= 0 && lo < 2 ** 32 && hi >= 0 && hi < 2 ** 32 && Number.isInteger(lo) && Number.isInteger(hi), `${ms} ${ns}: ${lo} ${hi}`);
      assert.equal(asBigInt([lo, hi]), BigInt(ms) * 1_000_000n + BigInt(ns), `${ms} ms ${ns} ns`);
    }
  });

  it('gives them exactly for any time up to 2^47 ms (the year 6429), past the 2^53 ns a double holds exactly', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 47 - 1 }), fc.integer({ min: 0, max: 999_999 }), (ms, ns) => {
      assert.equal(asBigInt(nanoWords([ms, ns])), BigInt(ms) * 1_000_000n + BigInt(ns));
    }), { numRuns: 5_000 });
  });

  it('reads epoch milliseconds, a Date, an HrTime and a performance.now() reading', () => {
    const epoch = Date.now() + 1000;
    assert.deepEqual(toSpanTime(epoch + 0.5), [epoch, 500_000]);
    assert.deepEqual(toSpanTime(new Date(epoch)), [epoch, 0]);
    assert.deepEqual(toSpanTime([1_700_000_000, 123_456_789]), [1_700_000_000_123, 456_789]);
    const now = performance.now();
    const [ms, ns] = toSpanTime(now);
    const expected = performance.timeOrigin + now;
    assert.ok(Math.abs(ms + ns / 1e6 - expected) < 0.001, `${ms}.${ns} against ${expected}`);
    assert.ok(Math.abs(ms - Date.now()) < 1000);
  });

  it('takes the later of two times', () => {
    assert.deepEqual(latestSpanTime([5, 1], [5, 2]), [5, 2]);
    assert.deepEqual(latestSpanTime([6, 0], [5, 999_999]), [6, 0]);
  });
});
