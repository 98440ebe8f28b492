/**
 * Tracing never in the way: with its collector down (a port where nothing listens), mcpmux starts,
 * serves as it does without tracing, counts what it could not export, and stops within its budget.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';

const NO_OTEL = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_SDK_DISABLED: '' };
const GRACE_SECONDS = 2;

describe('tracing with its collector down', () => {
  after(stopAll);

  it('starts, serves a call, exposes the span counters, logs only JSON, and stops within its budget', async () => {
    const mux = await startMcpmux(
      {
        listen: { host: '127.0.0.1' },
        tracing: { endpoint: `http://127.0.0.1:${await freePort()}` },
        shutdown: { gracePeriodSeconds: GRACE_SECONDS },
        servers: { echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT, terminationGracePeriodSeconds: 1 } },
      },
      // Spans stay queued until the stop, whose flush then meets the dead collector (the exporter
      // would retry for its whole 10 s export timeout): the flush must give up within the budget.
      { env: { ...NO_OTEL, OTEL_BSP_SCHEDULE_DELAY: '600000' } },
    );
    await mux.waitForLog((r) => r.msg === 'tracing on', 'the tracing on line');
    await mux.waitReady();
    const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    for (let i = 0; i < 3; i++) assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: `m${i}` } })), `Echo: m${i}`);
    await client.close();

    const text = await scrape(mux.adminUrl);
    for (const name of ['mcpmux_trace_spans_exported_total', 'mcpmux_trace_spans_failed_total', 'mcpmux_trace_spans_dropped_total']) {
      assert.equal(typeof sampleValue(text, name), 'number', `${name} is exposed`);
    }
    assert.equal(sampleValue(text, 'mcpmux_trace_spans_exported_total'), 0, 'nothing reached a collector that is down');

    const began = performance.now();
    assert.equal(await mux.stop(), 0, 'a graceful stop, not a forced one');
    const tookMs = performance.now() - began;
    assert.ok(tookMs < GRACE_SECONDS * 1000 + 1000, `stopped in ${Math.round(tookMs)} ms`);
    const steps = mux.logs.filter((r) => typeof r.step === 'string').map((r) => r.step);
    assert.ok(steps.includes('flush-traces') && !steps.includes('grace-exceeded'), steps.join(', '));
    assert.deepEqual(mux.logs.filter((r) => r.unparsed), [], 'nothing but JSON records on stdout');
  });
});
