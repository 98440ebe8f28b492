import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSessionSeal, isOwnerAddress, MAX_SEALED_LENGTH, splitOwner } from '../../../src/cluster/seal.js';

const KEY = 'a-session-key-of-at-least-32-characters!';
const OTHER = 'another-key-of-at-least-32-characters!!!';
const UUID = 'b3e36b9f-b8ce-426a-8dc9-8519f580717c';

describe('sealed session ids', () => {
  const seal = createSessionSeal([KEY], '10.244.1.7:8080');

  it('round-trips: the owner and the inner id come back out', () => {
    const sealed = seal.seal('math', UUID);
    assert.deepEqual(seal.open('math', sealed), { ok: true, owner: '10.244.1.7:8080', inner: UUID });
    const v6 = createSessionSeal([KEY], '[fd00::7]:8080');
    assert.deepEqual(v6.open('math', v6.seal('math', UUID)), { ok: true, owner: '[fd00::7]:8080', inner: UUID });
  });

  it('is visible ASCII, names its owner readably, and stays short for a UUID', () => {
    const sealed = seal.seal('math', UUID);
    assert.match(sealed, /^[\x21-\x7e]+$/);
    assert.match(sealed, /^m1_10\.244\.1\.7:8080_[A-Za-z0-9_-]{22}_b3e36b9f/);
    assert.ok(sealed.length <= 100, `${sealed.length} characters`);
    const longest = createSessionSeal([KEY], '[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535').seal('math', 'x'.repeat(256));
    assert.ok(longest.length <= MAX_SEALED_LENGTH);
  });

  it('refuses any change of one character: owner, MAC or inner id', () => {
    const sealed = seal.seal('math', UUID);
    for (let i = 3; i < sealed.length; i++) {
      const c = sealed[i] === 'A' ? 'B' : 'A';
      const tampered = sealed.slice(0, i) + c + sealed.slice(i + 1);
      assert.equal(seal.open('math', tampered).ok, false, `changed at ${i}: ${tampered}`);
    }
  });

  it("refuses another owner's address put in place of the real one", () => {
    const sealed = seal.seal('math', UUID);
    assert.equal(seal.open('math', sealed.replace('10.244.1.7:8080', '10.244.1.8:8080')).ok, false);
    assert.equal(seal.open('math', sealed.replace('10.244.1.7:8080', '169.254.169.254:80')).ok, false);
  });

  it('refuses an id sealed with another key, or for another server', () => {
    const other = createSessionSeal([OTHER], '10.244.1.7:8080');
    assert.equal(seal.open('math', other.seal('math', UUID)).ok, false);
    assert.equal(seal.open('echo', seal.seal('math', UUID)).ok, false);
  });

  it('opens ids of a previous key during a rotation, and seals only with the first', () => {
    const old = createSessionSeal([OTHER], '10.244.1.7:8080');
    const rotating = createSessionSeal([KEY, OTHER], '10.244.1.7:8080');
    assert.equal(rotating.open('math', old.seal('math', UUID)).ok, true);
    assert.equal(seal.open('math', rotating.seal('math', UUID)).ok, true);
  });

  it('refuses what is not a sealed id at all', () => {
    for (const id of ['', UUID, 'm1_', 'm1_10.0.0.1:80', 'm1_10.0.0.1:80_short_x', `m1_10.0.0.1:80_${'A'.repeat(22)}_`, `m1_10.0.0.1:80_${'A'.repeat(22)}x${UUID}`, 'x'.repeat(100_000), `m1_${'1'.repeat(60)}_${'A'.repeat(22)}_x`]) {
      assert.equal(seal.open('math', id).ok, false, id.slice(0, 60));
    }
  });

  it('checks advertise addresses', () => {
    for (const good of ['10.0.0.1:8080', '[fd00::1]:1', '[::1]:65535']) assert.equal(isOwnerAddress(good), true, good);
    for (const bad of ['10.0.0.1', 'pod:8080', '999.0.0.1:80', '10.0.0.1:0', '10.0.0.1:70000', '[fd00::1]', 'fd00::1:80', '10.0.0.1:80_x']) assert.equal(isOwnerAddress(bad), false, bad);
    assert.deepEqual(splitOwner('[fd00::1]:8080'), { host: 'fd00::1', port: 8080 });
    assert.throws(() => createSessionSeal([KEY], 'pod:8080'));
  });
});
