import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCluster } from '../../../src/cluster/cluster.js';

const KEY = 'a-session-key-of-at-least-32-characters!';
const config = (advertiseAddress: string, peers: string[] = []) => ({ keys: [KEY], advertiseAddress, peers, connectTimeoutSeconds: 2 });
const NOW = () => 1_800_000_000;

describe('placing a session', () => {
  const a = createCluster(config('10.0.0.2:8080'), NOW);
  const b = createCluster(config('10.0.0.3:8080'), NOW);
  const id = a.seal('math', 'inner-1');

  it("is local at its owner, with the child's own id", () => {
    assert.deepEqual(a.place('math', id, undefined, '10.0.0.9'), { kind: 'local', inner: 'inner-1', relayedBy: undefined });
  });

  it('is remote at another pod, naming the owner', () => {
    assert.deepEqual(b.place('math', id, undefined, '10.0.0.9'), { kind: 'remote', owner: '10.0.0.2:8080', inner: 'inner-1' });
  });

  it('knows who relayed it only under a valid mark', () => {
    assert.deepEqual(a.place('math', id, b.stamp(id), '10.0.0.3'), { kind: 'local', inner: 'inner-1', relayedBy: '10.0.0.3' });
    assert.deepEqual(a.place('math', id, 'forged', '10.0.0.3'), { kind: 'local', inner: 'inner-1', relayedBy: undefined });
  });

  it('never relays a relayed request again: a loop', () => {
    const c = createCluster(config('10.0.0.4:8080'), NOW);
    assert.deepEqual(c.place('math', id, b.stamp(id), '10.0.0.3'), { kind: 'refused', reason: 'loop' });
  });

  it('refuses a bad seal before reading its owner', () => {
    assert.deepEqual(b.place('math', id.replace('10.0.0.2', '10.0.0.5'), undefined, '10.0.0.9'), { kind: 'refused', reason: 'bad_seal' });
    assert.deepEqual(b.place('math', 'inner-1', undefined, '10.0.0.9'), { kind: 'refused', reason: 'bad_seal' });
  });

  it('with peers set: refuses an owner outside them, and a mark from outside them', () => {
    const fenced = createCluster(config('10.0.0.3:8080', ['10.0.0.0/29']), NOW);
    const outside = createCluster(config('10.0.1.2:8080'), NOW);
    assert.deepEqual(fenced.place('math', outside.seal('math', 'x'), undefined, '10.0.0.9'), { kind: 'refused', reason: 'owner_refused' });
    assert.equal(fenced.place('math', id, undefined, '10.0.0.9').kind, 'remote');
    const own = fenced.seal('math', 'y');
    assert.equal((fenced.place('math', own, a.stamp(own), '10.0.0.2') as { relayedBy?: string }).relayedBy, '10.0.0.2');
    assert.equal((fenced.place('math', own, a.stamp(own), '10.9.0.2') as { relayedBy?: string }).relayedBy, undefined);
    assert.equal(fenced.isPeer('10.0.0.2'), true);
    assert.equal(a.isPeer('10.0.0.2'), false);
  });
});
