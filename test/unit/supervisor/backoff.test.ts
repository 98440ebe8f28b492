import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextDelay, shouldResetAttempts } from '../../../src/supervisor/backoff.js';

const mcpmux = { initialSeconds: 0.5, maxSeconds: 30, resetAfterSeconds: 60 };

describe('restart backoff', () => {
  const cases: [number, number][] = [
    [1, 0],
    [2, 0.5],
    [3, 1],
    [4, 2],
    [5, 4],
    [8, 30],
    [100, 30],
    [10_000, 30],
  ];
  for (const [attempt, seconds] of cases) it(`restart ${attempt} waits ${seconds}s`, () => assert.equal(nextDelay(attempt, mcpmux), seconds));

  it('resets after a clean run of resetAfterSeconds', () => {
    assert.equal(shouldResetAttempts(59, mcpmux), false);
    assert.equal(shouldResetAttempts(60, mcpmux), true);
  });

  it('follows another policy, e.g. the kubelet one (after an immediate first restart)', () => {
    const kubelet = { initialSeconds: 10, maxSeconds: 300, resetAfterSeconds: 600 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => nextDelay(n, kubelet)), [0, 10, 20, 40, 80, 160, 300, 300]);
  });
});
