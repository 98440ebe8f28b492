import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickOwnIdle, pickVictim, type Holder } from '../../../src/bridge/fair-share.js';

interface S { readonly name: string; readonly inFlight: number; readonly lastActive: number }
const idle = (name: string, lastActive: number): S => ({ name, inFlight: 0, lastActive });
const busy = (name: string, lastActive: number): S => ({ name, inFlight: 1, lastActive });
const holders = (map: Record<string, S[]>, opening: Record<string, number> = {}): Holder<S>[] =>
  Object.entries(map).map(([client, sessions]) => ({ client, count: sessions.length + (opening[client] ?? 0), sessions }));

describe('the fair-share rule', () => {
  const cases: [string, Record<string, S[]>, string, string | undefined][] = [
    ['the client holding the most gives up its idlest', { a: [idle('a1', 5), idle('a2', 1), idle('a3', 9)], b: [idle('b1', 0)] }, 'c', 'a2'],
    ['a client holding one is not evicted for a newcomer holding as many', { v: [idle('v1', 0)], a: [busy('a1', 0), busy('a2', 0)] }, 'a', undefined],
    ['an idle victim needs at least one more than the newcomer', { v: [idle('v1', 0)], a: [idle('a1', 3)] }, 'n', 'v1'],
    ['among equals when everyone holds one, the one quiet longest', { x: [idle('x1', 7)], y: [idle('y1', 2)], z: [idle('z1', 4)] }, 'n', 'y1'],
    ["the newcomer's own idle session comes before another's busy one", { a: [busy('a1', 0), busy('a2', 0), busy('a3', 0)], n: [idle('n1', 5)] }, 'n', 'n1'],
    ['a busy session only from a client holding two more than the newcomer', { a: [busy('a1', 3), busy('a2', 1)], n: [] }, 'n', 'a2'],
    ['a busy session is never taken from a client holding just one more', { a: [busy('a1', 3), busy('a2', 1)], n: [busy('n1', 0)] }, 'n', undefined],
    ['idle goes before busy, whoever holds more', { a: [busy('a1', 0), busy('a2', 0), busy('a3', 0), busy('a4', 0)], b: [idle('b1', 9), busy('b2', 0)] }, 'n', 'b1'],
    ['the victim of defect 2: an attacker at its cap never evicts a victim holding one', { v: [idle('v1', 0)], a: [idle('a1', 9), idle('a2', 9)] }, 'a', 'a1'],
    ['nothing fair: refused', { a: [busy('a1', 0)], b: [busy('b1', 0)] }, 'c', undefined],
  ];
  for (const [name, map, newcomer, expected] of cases) {
    it(name, () => {
      const all = holders(map);
      const count = all.find((h) => h.client === newcomer)?.count ?? 0;
      assert.equal(pickVictim(all, newcomer, count)?.name, expected);
    });
  }

  it('counts sessions being opened in a holder', () => {
    // b holds one and opens two: three, two more than the newcomer (one): its busy one may go.
    const all = holders({ b: [busy('b1', 0)], n: [busy('n1', 0)] }, { b: 2 });
    assert.equal(pickVictim(all, 'n', 1)?.name, 'b1');
  });

  it("a client at its own cap loses its own idlest, never a busy one", () => {
    assert.equal(pickOwnIdle([busy('a', 0), idle('b', 5), idle('c', 2)])?.name, 'c');
    assert.equal(pickOwnIdle([busy('a', 0)]), undefined);
  });
});
