/**
 * A flood of new sessions from one client against the session table (issue 21, item 6), with an
 * attacker and a victim on different source addresses: the victim's session keeps reaching its
 * own process among replicas, a session pinned to a draining process keeps its pin and the drain
 * waits for it, a client at its share only evicts its own sessions, and a session that nothing
 * can make room for is refused (503 sessions_full) and dropped by the child.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { connectClient, initializeBody, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { MAIN, ROOT } from '../helpers/paths.js';
import { fetchFrom } from '../helpers/source-address.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const ATTACKER = '127.0.0.5';
const VICTIM = '127.0.0.6';
/** The reproduction: 615 initializes against a 500-session table, 40 victim calls among them. */
const FLOOD = 615;
const CALLS = 40;

type Client = Awaited<ReturnType<typeof connectClient>>;

/**
 * A fetch that answers the SDK's standalone GET stream with 405 itself, as a server without one
 * would: the session then has no request in flight between its calls, so that only the session
 * table's order (or its owner's drain) keeps it, never its being in use.
 */
function withoutStream(inner: typeof fetch): typeof fetch {
  return ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    init?.method === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : inner(input, init)) as typeof fetch;
}

/** `count` raw initializes from `from`, never deleted; resolves with their statuses. */
async function openSessions(url: string, from: typeof fetch, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const res = await from(url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

/**
 * The attacker's FLOOD initializes in CALLS batches, each followed by one `call` of the victim;
 * resolves with the attacker's statuses and the victim's results (or errors).
 */
async function floodAround(url: string, call: () => Promise<string>): Promise<{ statuses: number[]; results: string[] }> {
  const attacker = fetchFrom(ATTACKER);
  const statuses: number[] = [];
  const results: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    const size = Math.ceil((FLOOD * (i + 1)) / CALLS) - Math.ceil((FLOOD * i) / CALLS);
    statuses.push(...(await openSessions(url, attacker, size)));
    results.push(await call());
  }
  return { statuses, results };
}

const counting = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));
/** The session's next count, or what the call failed with (a 404: the call reached a process that does not know the session). */
const increment = (c: Client) => () => c.client.callTool({ name: 'increment', arguments: {} }).then(textOf, (error: Error) => `error: ${/Session not found/.test(error.message) ? '404' : error.message}`);
const whoami = async (c: Client) => Number(textOf(await c.client.callTool({ name: 'whoami', arguments: {} })));

describe('a flood of new sessions from one client, at affinity.maxSessions 500', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({
      affinity: { maxSessions: 500 },
      servers: {
        counter: fixtureServer('counter', { replicas: 2 }),
        pinned: fixtureServer('counter', { drainSeconds: 30 }),
      },
    });
    await waitFor(async () => (await mux.status()).servers.every((s) => (s as unknown as { replicas: { ready: boolean }[] }).replicas.every((r) => r.ready)), 'every replica to be ready', 30_000);
  });
  after(() => mux.stop());

  it('costs the victim on a 2-replica server nothing: its 40 calls among 615 initializes all reach its own process', async () => {
    const url = `${mux.publicUrl}/counter/mcp`;
    // Two sessions of the victim: one without a GET stream (only the table's order keeps it), one with.
    const quiet = await connectClient(url, 'victim', { fetch: withoutStream(fetchFrom(VICTIM)) });
    const streaming = await connectClient(url, 'victim', { fetch: fetchFrom(VICTIM) });
    const owners = [await whoami(quiet), await whoami(streaming)];
    const { statuses, results } = await floodAround(url, async () => `${await increment(quiet)()} ${await increment(streaming)()}`);
    assert.deepEqual(results, counting(CALLS).map((n) => `${n} ${n}`), 'every call counted on its own session: no 404');
    assert.deepEqual([await whoami(quiet), await whoami(streaming)], owners, 'on the process that made it');
    assert.deepEqual(new Set(statuses), new Set([200]), "the attacker's sessions are opened; it loses its own oldest");
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_tracked', { server: 'counter' }), 500, 'the table holds its bound');
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_evicted_total', { server: 'counter', reason: 'server_full' }), FLOOD + 2 - 500);
    for (const c of [quiet, streaming]) {
      await c.transport.terminateSession();
      await c.client.close();
    }
  });

  it('keeps a session pinned to its draining process under the flood, and the drain ends when the session does', async () => {
    const url = `${mux.publicUrl}/pinned/mcp`;
    const victim = await connectClient(url, 'victim', { fetch: withoutStream(fetchFrom(VICTIM)) });
    assert.equal(await increment(victim)(), '1');
    const old = await whoami(victim);
    const { stdout } = await run(process.execPath, [MAIN, 'rollout', 'pinned', '--control-socket', mux.controlSocket], { cwd: ROOT, timeout: 60_000 });
    assert.match(stdout, /^pinned: rolled out; process \d+ serves, the old one drains/);
    const drained = () => mux.logs.find((r) => (r.msg === 'process drained' || r.msg?.startsWith('drainSeconds ran out')) && r.pid === old);

    const { statuses, results } = await floodAround(url, increment(victim));
    assert.deepEqual(results, counting(CALLS + 1).slice(1), 'every call counted on the old process: no 404');
    assert.equal(await whoami(victim), old, 'the session is still pinned to the draining process');
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(drained(), undefined, 'the drain did not end under the flood');
    const [, draining] = ((await mux.status()).servers.find((s) => s.name === 'pinned') as unknown as { processes: { pid: number; role: string; sessions: number }[] }).processes;
    assert.deepEqual([draining?.pid, draining?.role, draining?.sessions], [old, 'draining', 1], '/status counts its one session');

    const deleted = Date.now();
    await victim.transport.terminateSession();
    await victim.client.close();
    const record = await waitFor(drained, 'the drain to end once its session did', 5000);
    assert.equal(record.msg, 'process drained');
    assert.ok(Date.now() - deleted < 5000);
  });
});

describe('a client at its share of a server (affinity.maxSessionsPerClient 100)', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({ affinity: { maxSessions: 500, maxSessionsPerClient: 100 }, servers: { counter: fixtureServer('counter', { replicas: 2 }) } });
    await waitFor(async () => (await mux.status()).servers.every((s) => (s as unknown as { replicas: { ready: boolean }[] }).replicas.every((r) => r.ready)), 'every replica to be ready', 30_000);
  });
  after(() => mux.stop());

  it('evicts only its own sessions: the victim and a third client keep theirs', async () => {
    const url = `${mux.publicUrl}/counter/mcp`;
    const victim = await connectClient(url, 'victim', { fetch: withoutStream(fetchFrom(VICTIM)) });
    const owner = await whoami(victim);
    assert.deepEqual(new Set(await openSessions(url, fetchFrom('127.0.0.7'), 100)), new Set([200]), 'a third client opens its share');
    const { results } = await floodAround(url, increment(victim));
    assert.deepEqual(results, counting(CALLS));
    assert.equal(await whoami(victim), owner);
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_tracked', { server: 'counter' }), 1 + 100 + 100, 'the victim’s one, the third client’s 100, the attacker’s newest 100');
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_evicted_total', { server: 'counter', reason: 'client_share' }), FLOOD - 100, 'the attacker lost only its own');
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_evicted_total', { server: 'counter', reason: 'server_full' }) ?? 0, 0);
    await victim.transport.terminateSession();
    await victim.client.close();
  });
});

describe('a new session when no session can be evicted (affinity.maxSessionsPerClient 2)', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({ affinity: { maxSessionsPerClient: 2 }, servers: { state: fixtureServer('stateful') } });
    await mux.waitReady();
  });
  after(stopAll);

  it('is refused with 503 sessions_full and Retry-After, and the child is told to drop it', async () => {
    const url = `${mux.publicUrl}/state/mcp`;
    // Two sessions, each with its GET stream open: both in use, so neither can be evicted.
    const held = [await connectClient(url, 'a', { fetch: fetchFrom(ATTACKER) }), await connectClient(url, 'b', { fetch: fetchFrom(ATTACKER) })];
    await waitFor(async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_in_flight', { server: 'state' }) === 2, 'both GET streams open');
    const from = mux.logs.length;
    const res = await fetchFrom(ATTACKER)(url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
    const body = (await res.json()) as { error: { code: number; data: { reason: string } } };
    assert.deepEqual([res.status, res.headers.get('retry-after'), body.error.data.reason, body.error.code], [503, '1', 'sessions_full', -31012]);
    assert.equal(res.headers.get('mcp-session-id'), null, 'the refused session is never named to the client');
    const counts = () => mux.logs.slice(from).filter((r) => r.server === 'state' && r.msg?.startsWith('sessions open: ')).map((r) => Number(r.msg!.slice(15)));
    await waitFor(() => counts().join() === '3,2', 'the child to open the session and drop it again on mcpmux’s DELETE');
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_refused_total', { server: 'state' }), 1);
    assert.equal(sampleValue(metrics, 'mcpmux_requests_total', { server: 'state', method: 'POST', code: '503' }), 1);
    // Another client still gets a session, and so does this one once one of its sessions ends.
    const other = await connectClient(url, 'c', { fetch: fetchFrom(VICTIM) });
    await held[0]!.transport.terminateSession();
    await held[0]!.client.close();
    const again = await connectClient(url, 'a2', { fetch: fetchFrom(ATTACKER) });
    for (const c of [held[1]!, other, again]) {
      await c.transport.terminateSession();
      await c.client.close();
    }
  });
});
