/**
 * A stdio server's session slots are shared fairly between clients (issue 21, items 1 and 2):
 * attacker and victim are different source addresses, as mcpmux tells the bridge. One client
 * holding every slot (GET streams kept open, calls that never answer) cannot lock another out;
 * an initialize loop cannot evict anyone else's session, and is held to the per-client rate.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { openPatiently, openRawSession, Refused, type RawSession } from '../helpers/raw-session.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { fetchFrom } from '../helpers/source-address.js';
import { waitFor } from '../helpers/wait.js';

const raw = (stdio: Record<string, unknown> = {}) => ({ transport: 'stdio', command: process.execPath, args: [fixture('stdio-raw')], stdio });
const attacker = fetchFrom('127.0.0.5');

async function stdioStatus(mux: Mcpmux): Promise<{ sessions: number; sessionsOpened: number; sessionsEnded: Record<string, number>; sessionsRefusedBy: Record<string, number> }> {
  const body = (await (await fetch(`${mux.adminUrl}/status`)).json()) as { servers: { stdio: never }[] };
  return body.servers[0]!.stdio;
}

describe('fair shares of a stdio server', () => {
  after(stopAll);

  it('one client holding all 32 slots with GET streams and calls that never answer cannot lock others out: the holder gives slots up, idle ones first', async () => {
    const mux = await startMcpmux({ servers: { raw: raw() } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    // The attacker fills the default 32 slots: 2 sessions with only a GET stream, 30 with a call that never answers.
    const held: RawSession[] = [];
    const hanging: Response[] = [];
    const streams: Response[] = [];
    for (let i = 0; i < 32; i++) {
      const session = await openPatiently(url, attacker);
      held.push(session);
      if (i < 2) streams.push(await session.openStream());
      else hanging.push(await session.post({ method: 'tools/call', params: { name: 'hang', arguments: {} } }));
    }
    assert.equal((await stdioStatus(mux)).sessions, 32);
    // Each victim, from its own address, gets a session, and its calls work.
    for (const [i, address] of ['127.0.0.6', '127.0.0.7', '127.0.0.8'].entries()) {
      const { client } = await connectClient(url, `victim-${i}`, { fetch: fetchFrom(address) });
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: `hi ${i}` } })), `hi ${i}`);
      await client.close();
    }
    // The attacker's two stream-only sessions went first; for the third victim, one of its busy ones.
    const evictions = mux.logs.filter((r) => r.msg === 'session evicted to make room');
    assert.equal(evictions.length, 3, JSON.stringify(evictions));
    assert.ok(evictions.every((r) => r.client === '127.0.0.5'), `only the attacker gave slots up: ${JSON.stringify(evictions)}`);
    assert.deepEqual(evictions.map((r) => r.inFlight), [0, 0, 1]);
    // The evicted call is answered with an error saying why, not left hanging.
    const answers = await Promise.all(hanging.map((res) => Promise.race([res.text(), new Promise<string>((resolve) => setTimeout(() => resolve(''), 3000))])));
    assert.equal(answers.filter((text) => text.includes('-31012') && text.includes('another client')).length, 1, answers.filter(Boolean).join('\n'));
    await Promise.all(streams.map((s) => s.body?.cancel()));
  });

  it('an initialize loop (8 at once, never deleting) evicts no other client and is held to its rate; a victim quiet for over a second between calls keeps its session', async () => {
    const mux = await startMcpmux({ servers: { raw: raw({ maxSessions: 8 }) } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const victim = await connectClient(url, 'victim', { fetch: fetchFrom('127.0.0.6') });
    let running = true;
    const outcomes = { opened: 0, refused: new Map<number, number>() };
    const started = Date.now();
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          await openRawSession(url, attacker);
          outcomes.opened += 1;
        } catch (error) {
          if (!(error instanceof Refused)) throw error;
          outcomes.refused.set(error.status, (outcomes.refused.get(error.status) ?? 0) + 1);
        }
      }
    });
    const failures: string[] = [];
    let calls = 0;
    while (Date.now() - started < 7000) {
      try {
        assert.equal(textOf(await victim.client.callTool({ name: 'echo', arguments: { text: `call ${calls}` } })), `call ${calls}`);
      } catch (error) {
        failures.push((error as Error).message);
      }
      calls += 1;
      // Quiet for longer than a second: an idle session, as the old eviction rule saw it.
      await new Promise((resolve) => setTimeout(resolve, 1200));
    }
    running = false;
    await Promise.all(loops);
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(failures, [], `the victim's ${calls} calls`);
    assert.ok(calls >= 5);
    // Default rate: 20 at once, then 5 a second; everything else was refused with 429.
    assert.ok(outcomes.opened <= 20 + 5 * seconds + 2, `${outcomes.opened} sessions opened in ${seconds.toFixed(1)} s`);
    assert.ok((outcomes.refused.get(429) ?? 0) > 0, JSON.stringify([...outcomes.refused]));
    const status = await stdioStatus(mux);
    assert.ok(status.sessionsOpened <= outcomes.opened + 2, 'no process was spawned for a refused session');
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_stdio_sessions_refused_total', { server: 'raw', reason: 'rate_limited' }), status.sessionsRefusedBy.rate_limited);
    assert.ok(mux.logs.filter((r) => r.msg === 'session evicted to make room').every((r) => r.client === '127.0.0.5'));
    await victim.client.close();
  });

  it('a client with its own cap (maxSessionsPerClient) makes room from its own sessions, and gets 429 when they are all busy', async () => {
    const mux = await startMcpmux({ servers: { raw: raw({ maxSessionsPerClient: 2 }) } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const [a, b] = [await openRawSession(url, attacker), await openRawSession(url, attacker)];
    const third = await openRawSession(url, attacker);
    await waitFor(() => mux.logs.find((r) => r.msg === 'session evicted to make room' && r.rule === 'client cap'), 'one of its own to make room');
    const gone = (await a.post({ method: 'tools/list' })).status === 404 ? a : b;
    assert.equal((await gone.post({ method: 'tools/list' })).status, 404);
    const alive = gone === a ? b : a;
    await alive.post({ method: 'tools/call', params: { name: 'hang', arguments: {} } });
    await third.post({ method: 'tools/call', params: { name: 'hang', arguments: {} } });
    await assert.rejects(openRawSession(url, attacker), (error: Refused) => error.status === 429 && /holds 2 sessions of this server, its maximum/.test(error.body) && error.retryAfter === '1');
    // Another client is not held to the first one's cap.
    const other = await openRawSession(url, fetchFrom('127.0.0.6'));
    assert.equal((await other.post({ method: 'tools/list' })).status, 200);
  });
});
