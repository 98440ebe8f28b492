/**
 * Many stdio sessions: 100 at once with interleaved calls, every answer reaching its own caller;
 * 1,000 opened and closed, leaving the process count and mcpmux's memory where they started; and
 * no process of the tree left after mcpmux's SIGTERM or the bridge's SIGKILL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { connectClient, initializeBody, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { descendantsOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

/** One test client plays many here: the per-client session rate is lifted for it. */
const LOAD_RATE = { perSecond: 100_000, burst: 100_000 };
const tiny = (stdio: Record<string, unknown>) => ({ transport: 'stdio', command: process.execPath, args: [fixture('stdio-tiny')], stdio: { sessionRate: LOAD_RATE, ...stdio } });

/** A raw session: initialize, then tools/call `add` as often as asked, then DELETE. */
async function openRawSession(url: string): Promise<{ add: (n: number) => Promise<string>; close: () => Promise<number> }> {
  const init = await fetch(url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
  const body = await init.text();
  if (init.status !== 200) throw new Error(`initialize: ${init.status} ${body}`);
  const headers = { ...MCP_HEADERS, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
  let id = 1;
  return {
    async add(n) {
      id += 1;
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'add', arguments: { n } } }) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`tools/call: ${res.status} ${text}`);
      return /"text":"([^"]+)"/.exec(text)?.[1] ?? text;
    },
    async close() {
      const res = await fetch(url, { method: 'DELETE', headers });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

const processCount = (mux: Mcpmux) => descendantsOf(mux.proc.pid!).length;

describe('many stdio sessions', () => {
  after(stopAll);

  it('answers 100 concurrent sessions, 20 interleaved calls each, every answer from its own process and state', async (t) => {
    const mux = await startMcpmux({ servers: { tiny: tiny({ maxSessions: 100, warmProcesses: 4 }) } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/tiny/mcp`;
    const sessions = await Promise.all(Array.from({ length: 100 }, () => openRawSession(url)));
    const pids = new Map<number, string>();
    const wrong: string[] = [];
    for (let round = 1; round <= 20; round++) {
      const answers = await Promise.all(sessions.map((s, i) => s.add(i + 1)));
      answers.forEach((answer, i) => {
        const [pid, total] = answer.split(':');
        if (round === 1) pids.set(i, pid!);
        if (pid !== pids.get(i) || total !== String((i + 1) * round)) wrong.push(`session ${i} round ${round}: ${answer}`);
      });
    }
    assert.deepEqual(wrong, []);
    assert.equal(new Set(pids.values()).size, 100, 'a process per session');
    const statuses = await Promise.all(sessions.map((s) => s.close()));
    assert.deepEqual([...new Set(statuses)], [200]);
    t.diagnostic(`100 sessions x 20 calls: 2,000 answers, 0 wrong`);
    await waitFor(() => [...pids.values()].every((pid) => !isAlive(Number(pid))), 'every session process to be gone');
  });

  it('opens and closes 1,000 sessions and leaves the process count and mcpmux RSS where they started', async (t) => {
    const mux = await startMcpmux({ servers: { tiny: tiny({ warmProcesses: 4 }) } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/tiny/mcp`;
    const churn = async (count: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < count) {
          next += 1;
          const session = await openRawSession(url);
          assert.match(await session.add(1), /^\d+:1$/);
          assert.equal(await session.close(), 200);
        }
      }));
    };
    await churn(200); // warm-up: JIT, pools, buffers, and the heap grown to its working size
    // mcpmux's watchdog, the bridge, the bridge's watchdog and the 4 warm processes.
    const settledCount = 7;
    const settled = (what: string) => waitFor(() => processCount(mux) === settledCount, `${what}: ${settledCount} processes under mcpmux`, 20_000);
    await settled('before');
    const bridge = (await mux.status()).servers[0]!.pid!;
    const sample = () => ({ mux: rssBytes(mux.proc.pid!), bridge: rssBytes(bridge) });
    const before = sample();
    const started = performance.now();
    await churn(500);
    const half = sample();
    await churn(500);
    const seconds = (performance.now() - started) / 1000;
    await settled('after');
    const end = sample();
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    t.diagnostic(`1,000 sessions in ${seconds.toFixed(1)} s; processes ${settledCount} before and after; RSS before / after 500 / after 1,000: mcpmux ${mib(before.mux)} / ${mib(half.mux)} / ${mib(end.mux)} MiB, bridge ${mib(before.bridge)} / ${mib(half.bridge)} / ${mib(end.bridge)} MiB`);
    // Garbage collection moves RSS by several MiB as the heap finds its size; a leak keeps growing.
    // mcpmux's (the promise): a leak of 20 KiB a session would add 10 MiB over the second 500.
    // The bridge's heap churns through a transport per session and steps wider when the machine is
    // loaded (seen: +26 MiB over one 500 in CI, with +5 over the other, and flat over the next 3,000
    // alone), so it is judged on the 1,000 together: a leak of 50 KiB a session fails it.
    const bounds = { mux: { half: 10, total: 32 }, bridge: { half: Infinity, total: 48 } };
    for (const who of ['mux', 'bridge'] as const) {
      assert.ok(end[who] - half[who] < bounds[who].half * 2 ** 20, `${who} grew by ${mib(end[who] - half[who])} MiB over the second 500 sessions`);
      assert.ok(end[who] - before[who] < bounds[who].total * 2 ** 20, `${who} grew by ${mib(end[who] - before[who])} MiB over 1,000 sessions`);
    }
  });

  it('stops what a session process started (sh -c, a grandchild in the background) on DELETE and on eviction', async () => {
    // The session's command is a shell that leaves a grandchild behind it, as `sh -c`, npx and uvx do.
    const script = `sleep 300 & exec "${process.execPath}" "${fixture('stdio-tiny')}"`;
    const mux = await startMcpmux({ servers: { shell: { transport: 'stdio', command: 'sh', args: ['-c', script], stdio: { maxSessions: 1, warmProcesses: 0 } } } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/shell/mcp`;
    const bridge = (await mux.status()).servers[0]!.pid!;
    const sessionTree = async (session: Awaited<ReturnType<typeof openRawSession>>) => {
      const pid = Number((await session.add(1)).split(':')[0]);
      const tree = [pid, ...descendantsOf(pid).map((p) => p.pid)];
      // The leader was exec'd into node; its background sleep is a sibling in its group, under the bridge.
      const group = descendantsOf(bridge).filter((p) => p.pgrp === pid).map((p) => p.pid);
      return [...new Set([...tree, ...group])];
    };
    const first = await openRawSession(url);
    const firstTree = await sessionTree(first);
    assert.ok(firstTree.length >= 2, `the session's process and its grandchild: ${firstTree.join(' ')}`);
    assert.equal(await first.close(), 200);
    await waitFor(() => firstTree.every((pid) => !isAlive(pid)), `every process of the deleted session to be gone: ${firstTree.filter(isAlive).join(' ')}`);

    // At maxSessions 1, a new session ends the idle one: its tree goes too.
    const second = await openRawSession(url);
    const secondTree = await sessionTree(second);
    // Idleness is the behaviour under test: time must pass (a session quiet for 1 s may be evicted).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const third = await openRawSession(url);
    await waitFor(() => secondTree.every((pid) => !isAlive(pid)), `every process of the evicted session to be gone: ${secondTree.filter(isAlive).join(' ')}`);
    await third.close();
  });

  it('leaves no process of the tree, zombies included, after the SIGKILL of the bridge or mcpmux SIGTERM', async () => {
    const mux = await startMcpmux({
      servers: {
        tools: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-stateful')] },
        shared: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-stateful')], stdio: { sessions: 'shared' } },
      },
    });
    await mux.waitReady(30_000);
    const clients = await Promise.all(['tools', 'tools', 'shared'].map((name) => connectClient(`${mux.publicUrl}/${name}/mcp`)));
    const sessionPids = await Promise.all(clients.map(({ client }) => client.callTool({ name: 'pid', arguments: {} }).then((r) => Number(textOf(r)))));

    // kill -9 of the bridge: its watchdog stops the session processes; mcpmux starts the bridge again.
    const bridge = (await mux.status()).servers.find((s) => s.name === 'tools')!;
    const underBridge = descendantsOf(bridge.pid!).map((p) => p.pid);
    assert.ok(sessionPids.slice(0, 2).every((pid) => underBridge.includes(pid)));
    process.kill(bridge.pid!, 'SIGKILL');
    await waitFor(() => underBridge.every((pid) => !isAlive(pid)), `every process under the killed bridge to be gone: ${underBridge.join(' ')}`);
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'tools')?.ready, 'the bridge to be back');
    const again = await connectClient(`${mux.publicUrl}/tools/mcp`);
    assert.equal(textOf(await again.client.callTool({ name: 'add', arguments: { n: 3 } })), '3');

    // mcpmux's SIGTERM: everything below it ends, watchdogs included.
    const tree = descendantsOf(mux.proc.pid!).map((p) => p.pid);
    assert.ok(tree.length >= 6, `the tree: ${tree.join(' ')}`);
    assert.equal(await mux.stop('SIGTERM'), 0);
    await waitFor(() => tree.every((pid) => !isAlive(pid)), `every process of the tree to be gone: ${tree.filter(isAlive).join(' ')}`);
  });
});
