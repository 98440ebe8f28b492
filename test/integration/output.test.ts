/** A child's output becomes log records, within a budget of lines, and a flood of it never blocks the child. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

describe('child output', () => {
  after(stopAll);

  it('logs each line with server and stream, and a child flooding its pipes still starts', async () => {
    const mux = await startMcpmux({ servers: { noisy: fixtureServer('noisy') } });
    await mux.waitReady(20_000);
    const long = mux.logs.find((r) => r.server === 'noisy' && r.stream === 'stdout' && r.truncated === true);
    assert.ok(long, 'the 4 MiB line is logged, cut and marked truncated');
    assert.equal((long.msg as string).length, 16 * 1024);
    assert.ok(mux.logs.some((r) => r.server === 'noisy' && r.stream === 'stdout' && r.msg === 'stdout after the long line'));
    assert.ok(mux.logs.some((r) => r.server === 'noisy' && r.stream === 'stderr' && r.msg === 'noise line 0'));
    assert.equal(await mux.stop(), 0);
  });

  it('logs a burst of 10,000 lines, then drops the rest of a flood and counts every dropped line', async () => {
    const mux = await startMcpmux({ servers: { noisy: fixtureServer('noisy') } });
    await mux.waitReady(20_000);
    // The child wrote 2 lines on stdout, 20,000 on stderr, then "noisy is listening": 20,003.
    const logged = () => mux.logs.filter((r) => r.server === 'noisy' && r.stream !== undefined).length;
    const dropped = async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_server_output_dropped_lines_total', { server: 'noisy' }) ?? 0;
    const started = Date.parse(mux.logs.find((r) => r.msg === 'process started')!.time as string);
    await waitFor(async () => logged() + (await dropped()) === 20_003, 'every line to be logged or counted as dropped', 10_000);
    const lastLine = Date.parse(mux.logs.filter((r) => r.server === 'noisy' && r.stream !== undefined).at(-1)!.time as string);
    const allowed = 10_000 + ((lastLine - started) / 1000) * 1000 + 1;
    assert.ok(logged() >= 10_000 && logged() <= allowed, `${logged()} lines logged: at most the burst and what 1,000 lines a second refilled (${Math.floor(allowed)})`);
    // The metric is counted inside mcpmux at once; its log record reaches this test through stdout a moment later.
    const reports = () => mux.logs.filter((r) => r.msg?.startsWith('output dropped') && r.server === 'noisy');
    const total = await dropped();
    await waitFor(() => reports().reduce((sum, r) => sum + (r.dropped as number), 0) === total, 'the log to say how many lines were dropped');
    assert.ok(reports().length >= 1);
    assert.equal(await mux.stop(), 0);
  });
});
