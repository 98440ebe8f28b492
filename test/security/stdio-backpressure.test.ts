/**
 * One session's stdout never costs another session on the same bridge (issue 21, item 3): a
 * process flooding noise leaves its neighbour's latency where it was, and a process flooding
 * notifications at a client that does not read waits on its own pipe instead of growing the
 * bridge. In shared mode, where one process serves every session, the client that does not read
 * loses its session and the others their nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { openRawSession } from '../helpers/raw-session.js';
import { waitFor } from '../helpers/wait.js';

const raw = (stdio: Record<string, unknown> = {}) => ({ transport: 'stdio', command: process.execPath, args: [fixture('stdio-raw')], stdio });
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Echo calls for `ms`: their latencies. */
async function latencies(client: Client, ms: number): Promise<number[]> {
  const until = performance.now() + ms;
  const took: number[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'x');
    took.push(performance.now() - started);
  }
  return took;
}

async function bridgePid(mux: Mcpmux): Promise<number> {
  return (await mux.status()).servers[0]!.pid!;
}

describe('backpressure in the stdio bridge', () => {
  after(stopAll);

  it("a session flooding its stdout with noise leaves its neighbour's latency and mcpmux's log where they were", async () => {
    const mux = await startMcpmux({ servers: { raw: raw() } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const [neighbour, noisy] = await Promise.all([connectClient(url, 'neighbour'), connectClient(url, 'noisy')]);
    await latencies(neighbour.client, 500); // warm up
    const before = median(await latencies(neighbour.client, 2000));
    assert.equal(textOf(await noisy.client.callTool({ name: 'noise', arguments: { seconds: 6 } })), 'noise started');
    const during = median(await latencies(neighbour.client, 4000));
    const wrote = await mux.waitForLog((r) => r.server === 'raw' && typeof r.msg === 'string' && r.msg.startsWith('wrote '), 'the noisy process to report its lines', 15_000);
    const lines = Number(/wrote (\d+) lines/.exec(String(wrote.msg))?.[1]);
    // Before: p50 5 ms -> 370 ms for the neighbour, and a log record for each of 733,800 lines.
    assert.ok(during <= before * 3 + 15, `neighbour p50 ${before.toFixed(1)} ms before, ${during.toFixed(1)} ms during a flood of ${lines} lines`);
    const logged = mux.logs.filter((r) => r.msg === 'stdout line is not a JSON-RPC message: ignored').length;
    assert.ok(logged <= 100 + 10 * 8, `${logged} noise lines logged of ${lines}`);
    const summary = await mux.waitForLog((r) => r.msg === 'stdout lines that went nowhere, past the budget: dropped unlogged' || (r.msg === 'stdout line is not a JSON-RPC message: ignored' && Number(r.droppedBefore) > 0), 'the dropped lines to be counted in the log');
    assert.ok(summary, 'the noise past the budget is counted');
    process.stdout.write(`# noise flood: ${lines} lines; neighbour p50 ${before.toFixed(1)} -> ${during.toFixed(1)} ms; ${logged} logged\n`);
    await Promise.all([neighbour.client.close(), noisy.client.close()]);
  });

  it('a process flooding notifications at a client that does not read its stream waits on its pipe; the bridge does not grow, and its neighbour is served', async () => {
    const mux = await startMcpmux({ servers: { raw: raw() } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const pid = await bridgePid(mux);
    const neighbour = await connectClient(url, 'neighbour');
    const baseline = rssMiB(pid);
    const slow = await openRawSession(url);
    const stream = await slow.openStream(); // never read
    assert.equal(stream.status, 200);
    const started = await slow.post({ method: 'tools/call', params: { name: 'flood', arguments: { seconds: 8 } } });
    assert.match(await started.text(), /flood started/);
    let peak = baseline;
    let settled = 0;
    const from = Date.now();
    while (Date.now() - from < 8000) {
      const now = rssMiB(pid);
      peak = Math.max(peak, now);
      // What the bridge holds once the socket buffers between it and the client are full.
      if (settled === 0 && Date.now() - from > 3000) settled = now;
      assert.equal(textOf(await neighbour.client.callTool({ name: 'echo', arguments: { text: 'still here' } })), 'still here');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wrote = await mux.waitForLog((r) => r.server === 'raw' && typeof r.msg === 'string' && r.msg.startsWith('wrote '), 'the flooding process to report its lines', 15_000);
    const lines = Number(/wrote (\d+) lines/.exec(String(wrote.msg))?.[1]);
    const last = rssMiB(pid);
    const report = `bridge RSS ${baseline.toFixed(0)} -> ${settled.toFixed(0)} MiB at 3 s -> ${last.toFixed(0)} MiB at 8 s (peak ${peak.toFixed(0)}); the process wrote ${lines} lines`;
    // Before: 75 -> 495 MiB in 8 s (667 MiB peak), growing all along, and 321,473 lines written.
    // Now the process waits on its pipe once the socket buffers on the way to the client are full
    // (~26,000 lines of 250 bytes on loopback); the bridge grows by the garbage that passing them
    // made (V8 keeps its grown heap: +60 MiB under Node 20, +150 under Node 24), then not at all.
    await stream.body?.cancel();
    assert.ok(lines < 80_000, report);
    assert.ok(peak - baseline < 200, report);
    assert.ok(last - settled < 10, report);
    process.stdout.write(`# notification flood at a client that does not read: ${report}\n`);
    await neighbour.client.close();
  });

  it('holds what a process sends with no stream to carry it (1,000 messages, 1 MiB), then the process waits; a GET stream then gets it all', async () => {
    const mux = await startMcpmux({ servers: { raw: raw() } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const session = await openRawSession(url);
    // No GET stream, and once the call is answered no request in flight: nothing can carry the flood.
    assert.match(await (await session.post({ method: 'tools/call', params: { name: 'flood', arguments: { seconds: 3 } } })).text(), /flood started/);
    const wrote = await mux.waitForLog((r) => r.server === 'raw' && typeof r.msg === 'string' && r.msg.startsWith('wrote '), 'the flood to end', 15_000);
    const lines = Number(/wrote (\d+) lines/.exec(String(wrote.msg))?.[1]);
    // 1,000 messages held (under 1 MiB at ~270 bytes), and the pipe's and the reader's 64 KiB each:
    // some 1,500 lines; before, it never waited (60,000 lines in 3 s, all but 1,000 dropped).
    assert.ok(lines < 4000, `the process wrote ${lines} lines with nowhere to send them`);
    const stream = await session.openStream();
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes(`flood ${lines - 1} `)) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /flood 0 /);
    await reader.cancel();
  });

  it('in shared mode, the session whose client does not read is ended; the others keep their answers', async () => {
    const mux = await startMcpmux({ servers: { raw: raw({ sessions: 'shared' }) } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const neighbour = await connectClient(url, 'neighbour');
    const slow = await openRawSession(url);
    const stream = await slow.openStream(); // never read
    // A flood of a size, not a time: ~26,000 lines of 250 bytes fill the socket buffers on the way
    // to the client, and 1 MiB more ends the session. A 3 s flood wrote 60,000 lines on a quiet
    // machine, and too few to get there on a loaded one (CI, twice).
    await (await slow.post({ method: 'tools/call', params: { name: 'flood', arguments: { seconds: 60, lines: 60_000 } } })).text();
    await mux.waitForLog((r) => r.msg === 'session ended' && r.reason === 'backlogged', 'the unread session to be ended', 60_000);
    assert.equal((await slow.post({ method: 'tools/list' })).status, 404);
    assert.equal(textOf(await neighbour.client.callTool({ name: 'echo', arguments: { text: 'fine' } })), 'fine');
    await stream.body?.cancel().catch(() => undefined);
    await neighbour.client.close();
  });
});
