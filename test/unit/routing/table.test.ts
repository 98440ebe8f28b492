import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Endpoint } from '../../../src/routing/endpoint.js';
import { pickEndpoint, type Route } from '../../../src/routing/table.js';

const route = (serving: Endpoint[], draining: Endpoint[] = []): Route => ({ prefix: '/s', server: 's', policy: { auth: undefined, rules: undefined, identity: undefined, maxInFlight: undefined, upstreamTimeoutSeconds: undefined, allowUpgrade: false, forwardAuthorization: false, identifyClient: false }, serving, draining, state: 'ready' });
const endpoints = (n: number) => Array.from({ length: n }, (_, i) => new Endpoint('s', 100 + i, 4000 + i));

describe('which endpoint a request goes to', () => {
  it("sends a session to its owner, serving or draining, and a session whose owner left the route to the serving ones", () => {
    const [a, b, old] = endpoints(3);
    assert.equal(pickEndpoint(route([a!, b!], [old!]), old), old);
    assert.equal(pickEndpoint(route([a!, b!]), b), b);
    assert.ok([a, b].includes(pickEndpoint(route([a!, b!]), old)));
  });

  it('answers nothing when nothing serves, and the one when one does', () => {
    const [a] = endpoints(1);
    assert.equal(pickEndpoint(route([]), undefined), undefined);
    assert.equal(pickEndpoint(route([a!]), undefined), a);
  });

  it('never picks a busy endpoint of two while the other is idle', () => {
    const [a, b] = endpoints(2);
    a!.inFlight = 1;
    for (let i = 0; i < 200; i++) assert.equal(pickEndpoint(route([a!, b!]), undefined), b);
  });

  it('does not count a session’s idle GET stream as work', () => {
    const [a, b] = endpoints(2);
    a!.inFlight = 3;
    a!.streams = 3;
    b!.inFlight = 1;
    for (let i = 0; i < 200; i++) assert.equal(pickEndpoint(route([a!, b!]), undefined), a);
  });

  it('spreads evenly over idle endpoints: 3,000 picks over 3, each within ±15 % of 1,000', () => {
    const all = endpoints(3);
    const counts = new Map<Endpoint, number>();
    for (let i = 0; i < 3000; i++) {
      const e = pickEndpoint(route(all), undefined)!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const e of all) assert.ok(Math.abs((counts.get(e) ?? 0) - 1000) <= 150, `${e.pid}: ${counts.get(e)}`);
  });
});
