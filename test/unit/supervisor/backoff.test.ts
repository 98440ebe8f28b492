import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BACKOFF, nextDelay, shouldResetAttempts } from '../../../src/supervisor/backoff.js';

describe('restart backoff', () => {
  const cases: [number, number][] = [
    [1, 0.5],
    [2, 1],
    [3, 2],
    [4, 4],
    [7, 30],
    [100, 30],
    [10_000, 30],
  ];
  for (const [attempt, seconds] of cases) it(`restart ${attempt} waits ${seconds}s`, () => assert.equal(nextDelay(attempt), seconds));

  it('resets after a clean run of resetAfterSeconds', () => {
    assert.equal(shouldResetAttempts(DEFAULT_BACKOFF.resetAfterSeconds - 1), false);
    assert.equal(shouldResetAttempts(DEFAULT_BACKOFF.resetAfterSeconds), true);
  });

  it('follows a custom policy, e.g. Kubernetes', () => {
    const kubelet = { initialSeconds: 10, maxSeconds: 300, resetAfterSeconds: 600 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => nextDelay(n, kubelet)), [10, 20, 40, 80, 160, 300, 300]);
  });
});
