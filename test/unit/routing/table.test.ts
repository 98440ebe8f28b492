import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Endpoint } from '../../../src/routing/endpoint.js';
import { SessionAffinity } from '../../../src/routing/sessions.js';
import { pickEndpoint, type Route } from '../../../src/routing/table.js';

const route = (serving: Endpoint[], draining: Endpoint[] = []): Route => ({ prefix: '/s', server: 's', policy: { auth: undefined, maxInFlight: undefined, upstreamTimeoutSeconds: undefined, allowUpgrade: false, forwardAuthorization: false, identifyClient: false }, serving, draining, state: 'ready' });
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

describe('the session table', () => {
  it('learns, forgets, and counts sessions on their endpoint', () => {
    const [a, b] = endpoints(2);
    const table = new SessionAffinity();
    table.learn('s1', a!);
    table.learn('s2', a!);
    table.learn('s2', b!);
    assert.deepEqual([a!.sessions, b!.sessions, table.ownerOf('s2')], [1, 1, b]);
    table.forget('s1');
    assert.deepEqual([a!.sessions, table.ownerOf('s1'), table.size], [0, undefined, 1]);
  });

  it('holds at most maxSessions, forgetting the oldest first', () => {
    const [a] = endpoints(1);
    const table = new SessionAffinity({ maxSessions: 3, idleTimeoutSeconds: 60 });
    for (const s of ['s1', 's2', 's3', 's4']) table.learn(s, a!);
    assert.deepEqual([table.size, table.ownerOf('s1'), table.ownerOf('s4'), a!.sessions], [3, undefined, a, 3]);
  });

  it('remembers the sessions of an endpoint that is gone as ended', () => {
    const [a, b] = endpoints(2);
    const table = new SessionAffinity();
    table.learn('s1', a!);
    table.learn('s2', b!);
    table.forgetEndpoint(a!);
    assert.deepEqual([table.ownerOf('s1'), table.hasEnded('s1'), table.hasEnded('s2'), a!.sessions], [undefined, true, false, 0]);
  });

  it('forgets a session idle past idleTimeoutSeconds, and keeps one in use', () => {
    let now = 0;
    const [a] = endpoints(1);
    const table = new SessionAffinity({ maxSessions: 10, idleTimeoutSeconds: 60 }, () => now);
    table.learn('idle', a!);
    table.learn('busy', a!);
    now = 50_000;
    table.ownerOf('busy');
    now = 61_000;
    assert.equal(table.sweep(), 1);
    assert.deepEqual([table.ownerOf('idle'), table.ownerOf('busy'), a!.sessions], [undefined, a, 1]);
  });
});
