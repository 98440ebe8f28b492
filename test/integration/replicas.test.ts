/**
 * Replicas of one server behind one route, with real SDK clients: every call of a session lands
 * on the replica that made it; calls without a session spread over the replicas and steer around
 * a busy one; a replica killed -9 costs only its own sessions (404, then a new session works); a
 * rollout replaces the replicas one at a time; and the session table stays within its bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, initializeBody, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { MAIN, ROOT } from '../helpers/paths.js';
import { isAlive, waitFor } from '../helpers/wait.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface ReplicaInfo {
  replica: number;
  state: string;
  ready: boolean;
  pid: number | null;
}

describe('replicas of a server', () => {
  let mux: Mcpmux;
  const url = () => `${mux.publicUrl}/counter/mcp`;
  before(async () => {
    mux = await startMcpmux({
      affinity: { maxSessions: 1000 },
      servers: {
        counter: fixtureServer('counter', { replicas: 3, drainSeconds: 10 }),
        minter: fixtureServer('session-minter', { replicas: 2 }),
      },
    });
    // /readyz says every server has a ready replica; these tests need every replica.
    await waitFor(async () => (await mux.status()).servers.every((s) => (s as unknown as { replicas: ReplicaInfo[] }).replicas.every((r) => r.ready)), 'every replica to be ready', 30_000);
  });
  after(stopAll);

  const replicas = async (name = 'counter') => ((await mux.status()).servers.find((s) => s.name === name) as unknown as { replicas: ReplicaInfo[] }).replicas;
  const whoami = async (client: Awaited<ReturnType<typeof connectClient>>['client']) => Number(textOf(await client.callTool({ name: 'whoami', arguments: {} })));

  it('keeps every call of a session on the replica that made it: 30 sessions × 20 calls that count', async () => {
    const clients = await Promise.all(Array.from({ length: 30 }, () => connectClient(url())));
    const owners = await Promise.all(clients.map(({ client }) => whoami(client)));
    const counts = await Promise.all(
      clients.map(async ({ client }) => {
        const seen: number[] = [];
        for (let i = 0; i < 20; i++) seen.push(Number(textOf(await client.callTool({ name: 'increment', arguments: {} }))));
        return seen;
      }),
    );
    const expected = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const seen of counts) assert.deepEqual(seen, expected, 'each session counts 1..20: every call reached its own process');
    assert.deepEqual(await Promise.all(clients.map(({ client }) => whoami(client))), owners, 'and the same process throughout');
    assert.equal(new Set(owners).size, 3, 'the sessions are spread over the three replicas');
    for (const { client, transport } of clients) {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('spreads calls without a session evenly: each of two replicas gets 42–58 % of 600', async () => {
    const from = mux.logs.length;
    for (let i = 0; i < 600; i++) {
      const res = await fetch(`${mux.publicUrl}/minter/mcp`, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
      await res.arrayBuffer();
    }
    await waitFor(() => mux.logs.slice(from).filter((r) => r.msg === 'request' && r.server === 'minter').length === 600, 'the access log');
    const byPid = new Map<number, number>();
    for (const r of mux.logs.slice(from)) if (r.msg === 'request' && r.server === 'minter') byPid.set(r.pid as number, (byPid.get(r.pid as number) ?? 0) + 1);
    assert.equal(byPid.size, 2);
    // Sequential calls find both replicas idle, so each choice is a fair coin: 300 ± 12 (1σ) each,
    // and 42–58 % is ±4σ (a false alarm about once in 30,000 runs).
    const counts = [...byPid.values()].sort((a, b) => a - b);
    assert.ok(counts[0]! >= 252, `each gets a fair share: ${counts.join(', ')}`);
  });

  it('steers new sessions around a replica busy with a slow call', async () => {
    const busy = await connectClient(url());
    const busyPid = await whoami(busy.client);
    const inFlight = async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_in_flight', { server: 'counter' });
    // Open GET streams count as in flight too: once the busy client's is open, the slow call is one more.
    const base = await waitFor(async () => {
      const n = await inFlight();
      return n !== undefined && n >= 1 ? n : undefined;
    }, "the busy client's GET stream");
    const slow = busy.client.callTool({ name: 'sleep', arguments: { ms: 4000 } }, undefined, { timeout: 30_000 });
    await waitFor(async () => (await inFlight()) === base! + 1, 'the slow call in flight');
    const fresh = [];
    for (let i = 0; i < 20; i++) {
      const c = await connectClient(url());
      fresh.push({ ...c, pid: await whoami(c.client) });
    }
    assert.ok(fresh.every((c) => c.pid !== busyPid), 'least-request: no new session on the busy replica');
    assert.equal(textOf(await slow), 'slept');
    for (const c of [...fresh, busy]) {
      await c.transport.terminateSession();
      await c.client.close();
    }
  });

  it('survives kill -9 of one replica under load: its sessions get 404 and start over, every other session and every new call succeeds', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => connectClient(url())));
    const pids = await Promise.all(clients.map(({ client }) => whoami(client)));
    const victim = pids[0]!;
    const victims = clients.filter((_, i) => pids[i] === victim);
    const others = clients.filter((_, i) => pids[i] !== victim);
    const otherErrors: string[] = [];
    let running = true;
    const loops = others.map(async ({ client }) => {
      while (running) {
        try {
          await client.callTool({ name: 'increment', arguments: {} });
        } catch (error) {
          otherErrors.push((error as Error).message);
        }
      }
    });
    let gone = false;
    const freshErrors: string[] = [];
    const fresh = (async () => {
      while (running) {
        const startedAfterGone = gone;
        try {
          const c = await connectClient(url());
          await c.client.callTool({ name: 'increment', arguments: {} });
          await c.transport.terminateSession();
          await c.client.close();
        } catch (error) {
          if (startedAfterGone) freshErrors.push((error as Error).message);
        }
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => !(await replicas()).some((r) => r.pid === victim), 'the killed replica to leave the route');
    gone = true;
    // A session of the killed replica: 404 from mcpmux, and the client starts a new one that works.
    const orphan = victims[0]!;
    const res = await fetch(url(), { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-session-id': orphan.transport.sessionId! }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }) });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { data: { reason: string } } }).error.data.reason, 'session_gone');
    const again = await connectClient(url());
    assert.equal(textOf(await again.client.callTool({ name: 'increment', arguments: {} })), '1');
    await waitFor(async () => (await replicas()).every((r) => r.ready), 'the killed replica to be back', 30_000);
    running = false;
    await Promise.all([...loops, fresh]);
    assert.deepEqual(otherErrors, [], 'the other replicas’ sessions saw no error');
    assert.deepEqual(freshErrors, [], 'no call started after the replica left the route failed');
    for (const { client } of [...clients, again]) await client.close();
  });

  it('rolls out one replica at a time under load: no call fails, and never fewer than two replicas ready', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => connectClient(url())));
    const before = (await replicas()).map((r) => r.pid);
    const errors: string[] = [];
    let running = true;
    const loops = clients.map(async ({ client }) => {
      while (running) {
        try {
          await client.callTool({ name: 'increment', arguments: {} });
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    });
    let fewest = 3;
    const watch = (async () => {
      while (running) {
        fewest = Math.min(fewest, (await replicas()).filter((r) => r.ready).length);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const { stdout } = await run(process.execPath, [MAIN, 'rollout', 'counter', '--control-socket', mux.controlSocket], { cwd: ROOT, timeout: 120_000 });
    assert.match(stdout, /^counter: rolled out/);
    const after = (await replicas()).map((r) => r.pid);
    assert.ok(after.every((pid, i) => pid !== before[i]), `every replica has a new process: ${before} -> ${after}`);
    running = false;
    await Promise.all([...loops, watch]);
    assert.deepEqual(errors, [], 'no call failed');
    assert.ok(fewest >= 2, `never fewer than two replicas ready (fewest: ${fewest})`);
    for (const { client, transport } of clients) {
      await transport.terminateSession();
      await client.close();
    }
    await waitFor(() => before.every((pid) => pid === null || !isAlive(pid)), 'the old processes to be gone once drained', 20_000);
  });

  it('keeps the session table within affinity.maxSessions: 10,000 sessions opened and abandoned', async () => {
    const batch = async () => {
      const res = await fetch(`${mux.publicUrl}/minter/mcp`, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
      await res.arrayBuffer();
    };
    for (let i = 0; i < 10_000; i += 50) await Promise.all(Array.from({ length: 50 }, batch));
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_sessions_tracked', { server: 'minter' }), 1000, 'the table holds its bound, the oldest forgotten first');
    // The newest sessions are the ones remembered: each still reaches the replica that made it.
    assert.equal(sampleValue(metrics, 'mcpmux_replica_sessions', { server: 'minter', replica: '0' })! + sampleValue(metrics, 'mcpmux_replica_sessions', { server: 'minter', replica: '1' })!, 1000);
  });
});
