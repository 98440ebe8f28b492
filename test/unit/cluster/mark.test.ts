import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPeerMark, MARK_WINDOW_SECONDS } from '../../../src/cluster/mark.js';

const KEY = 'a-session-key-of-at-least-32-characters!';
const SESSION = 'm1_10.0.0.2:8080_AAAAAAAAAAAAAAAAAAAAAA_x';

describe('the loop mark', () => {
  const mark = createPeerMark([KEY]);
  const now = 1_800_000_000;

  it('checks out for the session and time it was made for', () => {
    assert.equal(mark.check(mark.stamp(SESSION, now), SESSION, now), true);
    assert.equal(mark.check(mark.stamp(SESSION, now), SESSION, now + MARK_WINDOW_SECONDS), true);
  });

  it('fails for another session, outside its window, with another key, or altered', () => {
    const stamped = mark.stamp(SESSION, now);
    assert.equal(mark.check(stamped, `${SESSION}y`, now), false);
    assert.equal(mark.check(stamped, SESSION, now + MARK_WINDOW_SECONDS + 1), false);
    assert.equal(mark.check(stamped, SESSION, now - MARK_WINDOW_SECONDS - 1), false);
    assert.equal(createPeerMark(['another-key-of-at-least-32-characters!!!']).check(stamped, SESSION, now), false);
    const [time, mac] = stamped.split('.') as [string, string];
    assert.equal(mark.check(`${Number(time) + 1}.${mac}`, SESSION, now), false);
    for (let i = 0; i < mac.length; i++) {
      const altered = mac.slice(0, i) + (mac[i] === 'A' ? 'B' : 'A') + mac.slice(i + 1);
      assert.equal(mark.check(`${time}.${altered}`, SESSION, now), false, `changed at ${i}`);
    }
  });

  it('fails for what is not a mark', () => {
    for (const value of ['', '.', '1', `${now}.`, `x.${'A'.repeat(22)}`, `${now}.${'A'.repeat(22)}`, 'A'.repeat(10_000)]) assert.equal(mark.check(value, SESSION, now), false, value.slice(0, 40));
  });

  it('is not valid as a session seal, nor the other way round (keys of their own)', () => {
    // The two MACs are made with keys derived apart: the same text under both gives different MACs.
    const stamped = mark.stamp(SESSION, now);
    assert.notEqual(stamped.split('.')[1], SESSION.split('_')[2]);
  });
});
