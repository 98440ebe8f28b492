/**
 * Floods that once took mcpmux's memory without bound: access-log records behind a stdout that
 * cannot keep up, and a child writing lines as fast as its pipe takes them. Memory stays bounded,
 * the neighbour keeps answering, a stop never waits on stdout, and every drop is counted.
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { cpuSecondsOf, floodPipelined, memoryOf } from '../helpers/flood.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** What a flood may add to mcpmux's peak memory: the 4 MiB log buffer, V8's young generation, sockets. */
const PEAK_GROWTH_BOUND = 150 * MiB;
/** A SIGTERM with nothing in flight: the children's stop plus at most 1 s waiting on stdout. */
const STOP_BOUND_MS = 5000;

const echo = { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT };

/** Calls the neighbour's tool in a loop until `until` resolves; every call must succeed. */
async function callNeighbour(mux: Mcpmux, until: Promise<unknown>): Promise<{ calls: number; slowestMs: number }> {
  const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
  let done = false;
  void until.finally(() => (done = true));
  let calls = 0;
  let slowestMs = 0;
  while (!done) {
    const started = performance.now();
    const result = await client.callTool({ name: 'echo', arguments: { message: `call ${calls}` } }, undefined, { timeout: 10_000 });
    assert.equal(textOf(result), `Echo: call ${calls}`);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    calls += 1;
  }
  await client.close();
  return { calls, slowestMs };
}

async function stopTimed(mux: Mcpmux): Promise<{ code: number | string; ms: number }> {
  const started = performance.now();
  const code = await mux.stop();
  return { code, ms: performance.now() - started };
}

const report = (t: TestContext, fields: Record<string, number | string>) =>
  t.diagnostic(Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' '));

describe('floods', () => {
  after(stopAll);

  it('a 404 flood with 15 KB paths behind a stalled stdout: bounded memory, the neighbour answers, drops counted, a prompt stop', async (t) => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { echo } });
    await mux.waitReady();
    const port = Number(new URL(mux.publicUrl).port);
    const pid = mux.proc.pid!;
    const before = memoryOf(pid).rss;

    mux.proc.stdout.pause(); // the log collector stalls
    const request = `GET /nope/${'a'.repeat(15_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    // Bursts until the 4 MiB buffer has overflowed (one burst on an idle machine; more when the
    // machine is busy and the flood slower), 15 s at most.
    const flood = (async () => {
      const total = { requests: 0, answered: 0 };
      const deadline = Date.now() + 15_000;
      do {
        const burst = await floodPipelined(port, request, { connections: 20, depth: 10, durationMs: 1500 });
        total.requests += burst.requests;
        total.answered += burst.answered;
      } while (Date.now() < deadline && !(sampleValue(await scrape(mux.adminUrl), 'mcpmux_log_records_dropped_total')! > 0));
      return total;
    })();
    const health = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await fetch(`${mux.adminUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).status);
      return statuses;
    })();
    const neighbour = await callNeighbour(mux, flood);
    assert.deepEqual(await health, Array(10).fill(200), '/healthz answers under the flood');
    const { requests, answered } = await flood;
    const peakGrowth = memoryOf(pid).peak - before;
    const dropped = sampleValue(await scrape(mux.adminUrl), 'mcpmux_log_records_dropped_total')!;
    report(t, { requests, answered, peakGrowthMiB: peakGrowth / MiB, dropped, neighbourCalls: neighbour.calls, neighbourSlowestMs: neighbour.slowestMs });
    assert.ok(answered > 1000, `the flood was answered (${answered} of ${requests})`);
    assert.ok(peakGrowth < PEAK_GROWTH_BOUND, `peak memory grew by ${(peakGrowth / MiB).toFixed(0)} MiB`);
    assert.ok(dropped > 0, 'records were dropped, not buffered');
    assert.ok(neighbour.calls > 0);

    // The collector catches up: one record says how many were lost, and the count matches the metric.
    mux.proc.stdout.resume();
    const lost = await mux.waitForLog((r) => r.msg === 'log records dropped: stdout could not keep up', 'the record of dropped records');
    assert.equal(lost.level, 'warn');
    await waitFor(async () => {
      const reported = mux.logs.filter((r) => r.msg === lost.msg).reduce((sum, r) => sum + (r.dropped as number), 0);
      return reported === sampleValue(await scrape(mux.adminUrl), 'mcpmux_log_records_dropped_total');
    }, 'the dropped records reported in the log to match the metric');

    // Stalled again, 3,000 ordinary requests, then SIGTERM: the stop never waits on stdout for long.
    mux.proc.stdout.pause();
    await floodPipelined(port, 'GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n', { connections: 10, depth: 10, durationMs: 1500 });
    const stop = await stopTimed(mux);
    report(t, { stopMs: stop.ms });
    assert.equal(stop.code, 0);
    assert.ok(stop.ms < STOP_BOUND_MS, `the stop took ${stop.ms.toFixed(0)} ms`);
  });

  it('a child writing 100-byte lines as fast as its pipe takes them: bounded memory, the neighbour answers, drops counted, a prompt stop', async (t) => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { echo, flood: fixtureServer('floods-stdout') } });
    await mux.waitReady();
    const pid = mux.proc.pid!;
    const before = memoryOf(pid).rss;
    const cpuBefore = cpuSecondsOf(pid);
    const window = new Promise((resolve) => setTimeout(resolve, 3000));
    const neighbour = await callNeighbour(mux, window);
    const cpu = (cpuSecondsOf(pid) - cpuBefore) / 3;
    const peakGrowth = memoryOf(pid).peak - before;
    const dropped = async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_server_output_dropped_lines_total', { server: 'flood' }) ?? 0;
    await waitFor(async () => (await dropped()) > 100_000, 'the dropped lines to be counted');
    report(t, { peakGrowthMiB: peakGrowth / MiB, cpuShareOfCore: cpu, droppedLines: await dropped(), neighbourCalls: neighbour.calls, neighbourSlowestMs: neighbour.slowestMs });
    assert.ok(peakGrowth < PEAK_GROWTH_BOUND, `peak memory grew by ${(peakGrowth / MiB).toFixed(0)} MiB`);
    assert.ok(neighbour.calls > 0);
    assert.ok(mux.logs.some((r) => r.msg?.startsWith('output dropped') && r.server === 'flood' && (r.dropped as number) > 0), 'the log says lines were dropped');

    // With mcpmux's own stdout stalled as well, SIGTERM still stops everything promptly.
    mux.proc.stdout.pause();
    const stop = await stopTimed(mux);
    report(t, { stopMs: stop.ms });
    assert.equal(stop.code, 0);
    assert.ok(stop.ms < STOP_BOUND_MS, `the stop took ${stop.ms.toFixed(0)} ms`);
  });
});
