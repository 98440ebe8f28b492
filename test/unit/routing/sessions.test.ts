import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Endpoint } from '../../../src/routing/endpoint.js';
import { holdSession, releaseSession, SessionAffinity, type AffinityLimits } from '../../../src/routing/sessions.js';

/** Two processes of server `s` and one of server `t`. */
const makeEndpoints = () => ({ a: new Endpoint('s', 100, 4000), b: new Endpoint('s', 101, 4001), t: new Endpoint('t', 200, 5000) });
type Name = keyof ReturnType<typeof makeEndpoints>;

/**
 * One step on a table: learn `session` for `client` on an endpoint (a, if not named); hold or
 * release a session's entry (a request of it in flight); start draining an endpoint; forget an
 * endpoint that is gone.
 */
type Step =
  | { learn: string; client: string; on?: Name }
  | { hold: string }
  | { release: string }
  | { drain: Name }
  | { gone: Name };

interface Case {
  readonly name: string;
  readonly limits: Partial<AffinityLimits>;
  readonly steps: readonly Step[];
  /** The sessions still tracked on server s, in any order. */
  readonly tracked: readonly string[];
  /** The sessions learn() refused. */
  readonly refused?: readonly string[];
  readonly evicted?: { client_share?: number; server_full?: number };
}

const learnAll = (client: string, sessions: string[], on: Name = 'a'): Step[] => sessions.map((learn) => ({ learn, client, on }));

const CASES: readonly Case[] = [
  {
    name: 'bounds each server on its own: a full server s leaves server t alone',
    limits: { maxSessions: 3 },
    steps: [...learnAll('x', ['t1', 't2'], 't'), ...learnAll('x', ['s1', 's2', 's3', 's4'])],
    tracked: ['s2', 's3', 's4'],
    evicted: { server_full: 1 },
  },
  {
    name: "a client at maxSessionsPerClient gives up its own oldest, never another's, with room on the server",
    limits: { maxSessions: 100, maxSessionsPerClient: 2 },
    steps: [{ learn: 'v1', client: 'victim' }, ...learnAll('x', ['x1', 'x2', 'x3', 'x4'])],
    tracked: ['v1', 'x3', 'x4'],
    evicted: { client_share: 2 },
  },
  {
    name: 'on a full server, the heaviest client gives up its oldest for a lighter one',
    limits: { maxSessions: 4 },
    steps: [...learnAll('heavy', ['h1', 'h2', 'h3']), ...learnAll('victim', ['v1', 'v2'])],
    tracked: ['h2', 'h3', 'v1', 'v2'],
    evicted: { server_full: 1 },
  },
  {
    name: 'on a full server, the heaviest newcomer gives up its own oldest: never a client holding fewer than it will',
    limits: { maxSessions: 4 },
    steps: [...learnAll('victim', ['v1', 'v2']), ...learnAll('heavy', ['h1', 'h2', 'h3', 'h4', 'h5'])],
    tracked: ['v1', 'v2', 'h4', 'h5'],
    evicted: { server_full: 3 },
  },
  {
    name: 'a client as heavy as the newcomer will be gives up its oldest: equal shares',
    limits: { maxSessions: 2 },
    steps: [{ learn: 'p1', client: 'p' }, { learn: 'q1', client: 'q' }, { learn: 'r1', client: 'r' }],
    tracked: ['q1', 'r1'],
    evicted: { server_full: 1 },
  },
  {
    name: 'never evicts an entry in use: the next oldest goes',
    limits: { maxSessionsPerClient: 2 },
    steps: [...learnAll('x', ['x1', 'x2']), { hold: 'x1' }, { learn: 'x3', client: 'x' }],
    tracked: ['x1', 'x3'],
    evicted: { client_share: 1 },
  },
  {
    name: 'an entry that was in use goes back to its list as the newest when its request ends',
    limits: { maxSessionsPerClient: 2 },
    steps: [...learnAll('x', ['x1', 'x2']), { hold: 'x1' }, { learn: 'x3', client: 'x' }, { release: 'x1' }, { learn: 'x4', client: 'x' }],
    tracked: ['x1', 'x4'],
    evicted: { client_share: 2 },
  },
  {
    name: 'an entry held by two requests stays in use until both end',
    limits: { maxSessionsPerClient: 1 },
    steps: [{ learn: 'x1', client: 'x' }, { hold: 'x1' }, { hold: 'x1' }, { release: 'x1' }, { learn: 'x2', client: 'x' }],
    tracked: ['x1'],
    refused: ['x2'],
  },
  {
    name: 'never evicts an entry pinned to a draining process, and keeps it after its requests end',
    limits: { maxSessionsPerClient: 2 },
    steps: [{ learn: 'old', client: 'x', on: 'a' }, { drain: 'a' }, { hold: 'old' }, { learn: 'x1', client: 'x', on: 'b' }, { release: 'old' }, ...learnAll('x', ['x2', 'x3'], 'b')],
    tracked: ['old', 'x3'],
    evicted: { client_share: 2 },
  },
  {
    name: 'on a full server, skips a heaviest client whose entries are all in use or draining, for the next heaviest',
    limits: { maxSessions: 5 },
    steps: [...learnAll('d', ['d1', 'd2', 'd3']), { drain: 'a' }, ...learnAll('h', ['h1', 'h2'], 'b'), { learn: 'n1', client: 'n', on: 'b' }],
    tracked: ['d1', 'd2', 'd3', 'h2', 'n1'],
    evicted: { server_full: 1 },
  },
  {
    name: "refuses a session at the client's share when all its own are in use, even with room on the server",
    limits: { maxSessions: 100, maxSessionsPerClient: 2 },
    steps: [...learnAll('x', ['x1', 'x2']), { hold: 'x1' }, { hold: 'x2' }, { learn: 'v1', client: 'victim' }, { learn: 'x3', client: 'x' }],
    tracked: ['x1', 'x2', 'v1'],
    refused: ['x3'],
  },
  {
    name: 'refuses a session on a full server when every entry it could take is in use or draining',
    limits: { maxSessions: 3 },
    steps: [{ learn: 'p1', client: 'p' }, { learn: 'q1', client: 'q' }, { learn: 'r1', client: 'r', on: 'b' }, { hold: 'p1' }, { drain: 'a' }, { hold: 'r1' }, { learn: 'n1', client: 'n', on: 'b' }],
    tracked: ['p1', 'q1', 'r1'],
    refused: ['n1'],
  },
  {
    name: 'takes a refused client again once one of its sessions ends its request',
    limits: { maxSessionsPerClient: 1 },
    steps: [{ learn: 'x1', client: 'x' }, { hold: 'x1' }, { learn: 'x2', client: 'x' }, { release: 'x1' }, { learn: 'x3', client: 'x' }],
    tracked: ['x3'],
    refused: ['x2'],
    evicted: { client_share: 1 },
  },
];

const ALL_SESSIONS = (steps: readonly Step[]) => steps.flatMap((step) => ('learn' in step ? [step.learn] : []));

describe('the session table: bounds and eviction order', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const endpoints = makeEndpoints();
      const table = new SessionAffinity({ maxSessions: 1000, maxSessionsPerClient: 1000, idleTimeoutSeconds: 3600, ...c.limits });
      const refused: string[] = [];
      const server = (session: string) => (session.startsWith('t') ? 't' : 's');
      for (const step of c.steps) {
        if ('learn' in step) {
          if (!table.learn(step.learn, endpoints[step.on ?? 'a'], step.client)) refused.push(step.learn);
        } else if ('hold' in step) holdSession(table.find(server(step.hold), step.hold)!);
        else if ('release' in step) releaseSession(table.find(server(step.release), step.release)!);
        else if ('drain' in step) endpoints[step.drain].draining = true;
        else table.forgetEndpoint(endpoints[step.gone]);
      }
      const tracked = ALL_SESSIONS(c.steps).filter((s) => server(s) === 's' && table.find('s', s) !== undefined);
      assert.deepEqual(tracked.sort(), [...c.tracked].sort(), 'tracked');
      assert.deepEqual(refused, c.refused ?? [], 'refused');
      const stats = table.stats().find((s) => s.server === 's')!;
      assert.deepEqual(stats.evicted, { client_share: 0, server_full: 0, ...c.evicted }, 'evicted');
      assert.equal(stats.refused, refused.length);
      assert.equal(stats.tracked, c.tracked.length);
      // Each endpoint counts exactly the sessions remembered on it (/status, and what a drain waits for).
      const on = (e: Endpoint) => tracked.filter((s) => table.find('s', s)!.owner === e).length;
      assert.deepEqual([endpoints.a.sessions, endpoints.b.sessions], [on(endpoints.a), on(endpoints.b)], 'Endpoint.sessions');
    });
  }
});

describe('the session table', () => {
  it('learns, forgets, and counts sessions on their endpoint', () => {
    const { a, b } = makeEndpoints();
    const table = new SessionAffinity();
    table.learn('s1', a, 'x');
    table.learn('s2', a, 'x');
    table.learn('s2', b, 'x');
    assert.deepEqual([a.sessions, b.sessions, table.find('s', 's2')?.owner], [1, 1, b]);
    table.forget('s', 's1');
    assert.deepEqual([a.sessions, table.find('s', 's1'), table.size], [0, undefined, 1]);
  });

  it('knows a session on its own server only', () => {
    const { a, t } = makeEndpoints();
    const table = new SessionAffinity();
    table.learn('same', a, 'x');
    assert.equal(table.find('t', 'same'), undefined);
    table.learn('same', t, 'x');
    assert.deepEqual([table.find('s', 'same')?.owner, table.find('t', 'same')?.owner], [a, t]);
    table.forget('t', 'same');
    assert.equal(table.find('s', 'same')?.owner, a);
  });

  it('remembers the sessions of an endpoint that is gone as ended, on its server only', () => {
    const { a, b } = makeEndpoints();
    const table = new SessionAffinity();
    table.learn('s1', a, 'x');
    table.learn('s2', b, 'x');
    table.forgetEndpoint(a);
    assert.deepEqual([table.find('s', 's1'), table.hasEnded('s', 's1'), table.hasEnded('t', 's1'), table.hasEnded('s', 's2'), a.sessions], [undefined, true, false, false, 0]);
  });

  it('bounds the ended sessions per server by maxSessions, forgetting the oldest first', () => {
    const { a, b, t } = makeEndpoints();
    const table = new SessionAffinity({ maxSessions: 2, maxSessionsPerClient: 2, idleTimeoutSeconds: 60 });
    for (const s of ['e1', 'e2']) table.learn(s, a, 'x');
    table.learn('t1', t, 'x');
    table.forgetEndpoint(a);
    table.forgetEndpoint(t);
    for (const s of ['e3', 'e4']) table.learn(s, b, 'x');
    table.forgetEndpoint(b);
    assert.deepEqual(['e1', 'e2', 'e3', 'e4'].map((s) => table.hasEnded('s', s)), [false, false, true, true]);
    assert.equal(table.hasEnded('t', 't1'), true, "another server's ended session is kept");
  });

  it('forgets a session idle past idleTimeoutSeconds, and keeps one in use or recently seen', () => {
    let now = 0;
    const { a } = makeEndpoints();
    const table = new SessionAffinity({ maxSessions: 10, maxSessionsPerClient: 10, idleTimeoutSeconds: 60 }, () => now);
    for (const s of ['idle', 'seen', 'streaming']) table.learn(s, a, 'x');
    holdSession(table.find('s', 'streaming')!);
    now = 50_000;
    table.find('s', 'seen');
    now = 61_000;
    assert.equal(table.sweep(), 1);
    assert.deepEqual([table.find('s', 'idle'), table.find('s', 'seen')?.owner, table.find('s', 'streaming')?.owner, a.sessions], [undefined, a, a, 2]);
  });

  it('keeps every session in use through a flood of 200,000 against a full table (the flood takes its own slots)', () => {
    const { a, b } = makeEndpoints();
    const table = new SessionAffinity({ maxSessions: 10_000, maxSessionsPerClient: 1000, idleTimeoutSeconds: 3600 });
    for (let i = 0; i < 9000; i++) table.learn(`c${i}`, a, `client-${i % 9}`);
    for (let i = 0; i < 1000; i++) {
      table.learn(`held${i}`, b, 'holder');
      holdSession(table.find('s', `held${i}`)!);
    }
    // (Each insert here cost ~1.1 µs on the 2-core machine: a figure for the note, not an assertion.)
    for (let i = 0; i < 200_000; i++) assert.ok(table.learn(`flood${i}`, a, 'attacker') || i < 0);
    assert.equal(table.size, 10_000);
    assert.equal(b.sessions, 1000, 'the sessions in use are all kept');
  });
});
