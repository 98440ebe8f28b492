import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientRates } from '../../../src/bridge/client-rates.js';

describe('the per-client session rate', () => {
  it('admits a burst, then the rate, per client', () => {
    let now = 0;
    const rates = new ClientRates({ burst: 3, perSecond: 2 }, () => now);
    assert.deepEqual([1, 2, 3].map(() => rates.take('a')), [0, 0, 0]);
    assert.equal(rates.take('a'), 0.5, 'the 4th waits half a second at 2 a second');
    assert.equal(rates.take('b'), 0, 'another client has its own bucket');
    now = 500;
    assert.equal(rates.take('a'), 0);
    assert.ok(rates.take('a') > 0);
  });

  it('stays bounded: full buckets are forgotten first', () => {
    let now = 0;
    const rates = new ClientRates({ burst: 1, perSecond: 1000 }, () => now);
    for (let i = 0; i < 10_000; i++) rates.take(`c${i}`);
    now = 10;
    rates.take('one more');
    assert.ok(rates.size <= 10_000, String(rates.size));
  });
});
