import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickOwnIdle, pickVictim, type Holder } from '../../../src/bridge/fair-share.js';

interface S { readonly name: string; readonly inFlight: number; readonly lastActive: number }
const idle = (name: string, lastActive: number): S => ({ name, inFlight: 0, lastActive });
const busy = (name: string, lastActive: number): S => ({ name, inFlight: 1, lastActive });
const holders = (map: Record<string, S[]>, opening: Record<string, number> = {}): Holder<S>[] =>
  Object.entries(map).map(([client, sessions]) => ({ client, count: sessions.length + (opening[client] ?? 0), sessions }));

describe('the fair-share rule', () => {
  // [name, sessions by client, newcomer, maxSessions, expected victim]
  const cases: [string, Record<string, S[]>, string, number, string | undefined][] = [
    ['the client holding the most gives up its idlest', { a: [idle('a1', 5), idle('a2', 1), idle('a3', 9)], b: [idle('b1', 0)] }, 'c', 4, 'a2'],
    ['a client holding one is not evicted for a newcomer holding as many', { v: [idle('v1', 0)], a: [busy('a1', 0), busy('a2', 0)] }, 'a', 3, undefined],
    ['a client at or under its share is never evicted', { v: [idle('v1', 0)], a: [busy('a1', 0), busy('a2', 0), busy('a3', 0), busy('a4', 0)] }, 'n', 5, 'a1'],
    ['an idle victim needs at least one more than the newcomer', { v: [idle('v1', 0)], a: [idle('a1', 3)] }, 'n', 2, 'v1'],
    ['when everyone holds one of too few slots, the one quiet longest', { x: [idle('x1', 7)], y: [idle('y1', 2)], z: [idle('z1', 4)] }, 'n', 3, 'y1'],
    ["the newcomer's own idle session comes before another's busy one", { a: [busy('a1', 0), busy('a2', 0), busy('a3', 0)], n: [idle('n1', 5)] }, 'n', 4, 'n1'],
    ['a busy session only from a client over its share holding two more than the newcomer', { a: [busy('a1', 3), busy('a2', 1)], n: [] }, 'n', 2, 'a2'],
    ['a busy session is never taken from a client holding just one more', { a: [busy('a1', 3), busy('a2', 1)], n: [busy('n1', 0)] }, 'n', 3, undefined],
    ['idle goes before busy', { a: [busy('a1', 0), busy('a2', 0), busy('a3', 0), busy('a4', 0)], b: [idle('b1', 9), busy('b2', 0), busy('b3', 0)] }, 'n', 7, 'b1'],
    ['the victim of defect 2: an attacker at the cap only loses its own', { v: [idle('v1', 0)], a: [idle('a1', 9), idle('a2', 9)] }, 'a', 3, 'a1'],
    ['nothing fair: refused', { a: [busy('a1', 0)], b: [busy('b1', 0)] }, 'c', 2, undefined],
  ];
  for (const [name, map, newcomer, max, expected] of cases) {
    it(name, () => {
      const all = holders(map);
      const count = all.find((h) => h.client === newcomer)?.count ?? 0;
      assert.equal(pickVictim(all, newcomer, count, max)?.name, expected);
    });
  }

  it('counts sessions being opened in a holder', () => {
    // b holds one and opens two: three, two more than the newcomer (one): its busy one may go.
    const all = holders({ b: [busy('b1', 0)], n: [busy('n1', 0)] }, { b: 2 });
    assert.equal(pickVictim(all, 'n', 1, 4)?.name, 'b1');
  });

  it("a client at its own cap loses its own idlest, never a busy one", () => {
    assert.equal(pickOwnIdle([busy('a', 0), idle('b', 5), idle('c', 2)])?.name, 'c');
    assert.equal(pickOwnIdle([busy('a', 0)]), undefined);
  });
});
