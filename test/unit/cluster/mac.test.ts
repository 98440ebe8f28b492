import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createMac, MAC_CHARS, MAX_KNOWN } from '../../../src/cluster/mac.js';

/** The MAC as the ids in the wild carry it: HMAC-SHA256, its first 128 bits, base64url. */
const reference = (key: Buffer, message: string) => createHmac('sha256', key).update(message).digest().subarray(0, 16).toString('base64url');
const altered = (mac: string, i: number) => mac.slice(0, i) + (mac[i] === 'A' ? 'B' : 'A') + mac.slice(i + 1);

describe('the MAC of ids and marks', () => {
  it('is the first 128 bits of HMAC-SHA256 in base64url, made or remembered', () => {
    const key = randomBytes(32);
    const mac = createMac(key);
    for (let i = 0; i < 200; i++) {
      const message = `math\n10.0.0.${i}:8080\n${randomBytes(16).toString('hex')}`;
      assert.equal(mac.of(message), reference(key, message));
      assert.equal(mac.of(message), reference(key, message));
      assert.equal(mac.of(message).length, MAC_CHARS);
    }
  });

  it('checks out for the right MAC only, whether or not it is remembered', () => {
    const key = randomBytes(32);
    const message = 'math\n10.0.0.2:8080\ninner';
    const right = reference(key, message);
    const fresh = createMac(key);
    for (let i = 0; i < MAC_CHARS; i++) assert.equal(fresh.verifies(altered(right, i), message), false, `changed at ${i}`);
    assert.equal(fresh.verifies(right, message), true);
    // Now remembered: every other spelling still fails.
    for (let i = 0; i < MAC_CHARS; i++) assert.equal(fresh.verifies(altered(right, i), message), false, `changed at ${i}, remembered`);
    for (const wrong of ['', right.slice(1), `${right}A`, reference(randomBytes(32), message)]) assert.equal(fresh.verifies(wrong, message), false, wrong);
    assert.equal(fresh.verifies(right, `${message}x`), false);
    assert.equal(createMac(randomBytes(32)).verifies(right, message), false);
  });

  it('forgets the oldest past its bound, and still checks what it forgot', () => {
    const key = randomBytes(32);
    const mac = createMac(key);
    const first = 'math\n10.0.0.2:8080\nfirst';
    mac.of(first);
    for (let i = 0; i <= MAX_KNOWN; i++) mac.of(`math\n10.0.0.2:8080\n${i}`);
    assert.equal(mac.verifies(reference(key, first), first), true);
    assert.equal(mac.verifies(altered(reference(key, first), 3), first), false);
  });
});
