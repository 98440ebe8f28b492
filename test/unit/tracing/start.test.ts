/**
 * startTracing, exporting to a real HTTP listener of the test's own: one that
 * takes exports, one that refuses them, one that never answers, and a port where none listens.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { diag, propagation, ROOT_CONTEXT, trace, TraceFlags, type TextMapGetter } from '@opentelemetry/api';
import { DEFAULT_QUEUE, type TracingSettings } from '../../../src/tracing/settings.js';
import { startTracing, type Tracing } from '../../../src/tracing/start.js';
import type { TracingWarning } from '../../../src/tracing/warnings.js';
import { decodeTraceRequest, valuesOf } from '../../helpers/otlp-decode.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

interface Collector {
  readonly url: string;
  readonly posts: { path: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}

/** A collector answering every export with `status`, or never (`hang`). */
async function startCollector(answer: number | 'hang'): Promise<Collector> {
  const posts: Collector['posts'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      posts.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (answer !== 'hang') res.writeHead(answer, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    posts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const settings = (tracesUrl: string, extra: Partial<TracingSettings> = {}): TracingSettings => ({
  tracesUrl,
  headers: {},
  serviceName: 'mcpmux-test',
  resourceAttributes: {},
  sampler: { parentBased: true, ratio: 1 },
  serverEnv: false,
  ...extra,
  queue: { ...DEFAULT_QUEUE, scheduledDelayMillis: 10, exportTimeoutMillis: 2000, ...extra.queue },
});

const started: Tracing[] = [];
const collectors: Collector[] = [];
async function start(s: TracingSettings, warnings: TracingWarning[] = []): Promise<Tracing> {
  const tracing = await startTracing(s, { onWarning: (w) => warnings.push(w) });
  started.push(tracing);
  return tracing;
}
async function collector(answer: number | 'hang'): Promise<Collector> {
  const c = await startCollector(answer);
  collectors.push(c);
  return c;
}
after(async () => {
  await Promise.all(started.map((t) => t.shutdown(100)));
  await Promise.all(collectors.map((c) => c.close()));
});

const endSpans = (tracing: Tracing, n: number) => {
  for (let i = 0; i < n; i++) tracing.tracer.startSpan(`span ${i}`, {}, ROOT_CONTEXT).end();
};

const getter: TextMapGetter<Record<string, string>> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331';

describe('startTracing', () => {
  it('exports spans over OTLP/HTTP protobuf with the headers, and counts them', async () => {
    const c = await collector(200);
    const tracing = await start(settings(c.url, { headers: { 'x-api-key': 'k1' } }));
    endSpans(tracing, 3);
    await waitFor(() => tracing.stats().exported === 3, 'three spans exported');
    assert.deepEqual(tracing.stats(), { exported: 3, failed: 0, dropped: 0 });
    assert.equal(c.posts[0]?.path, '/v1/traces');
    assert.equal(c.posts[0]?.headers['content-type'], 'application/x-protobuf');
    assert.equal(c.posts[0]?.headers['x-api-key'], 'k1');
  });

  it('counts the spans of a refused export, and says so once a minute', async () => {
    const c = await collector(400);
    const warnings: TracingWarning[] = [];
    const tracing = await start(settings(c.url), warnings);
    endSpans(tracing, 2);
    await waitFor(() => tracing.stats().failed === 2, 'two spans failed');
    endSpans(tracing, 3);
    await waitFor(() => tracing.stats().failed === 5, 'five spans failed');
    assert.deepEqual(tracing.stats(), { exported: 0, failed: 5, dropped: 0 });
    const exports = warnings.filter((w) => w.kind === 'export');
    assert.equal(exports.length, 1, JSON.stringify(warnings));
    assert.match(exports[0]!.message, /^an export of 2 spans to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed \(.+\); counted in mcpmux_trace_spans_failed_total$/);
  });

  it('drops and counts what a full queue cannot hold, never waiting for the collector', async () => {
    const c = await collector('hang');
    const warnings: TracingWarning[] = [];
    const tracing = await start(settings(c.url, { queue: { ...DEFAULT_QUEUE, maxQueueSize: 4, maxExportBatchSize: 4, scheduledDelayMillis: 60_000, exportTimeoutMillis: 2000 } }), warnings);
    const began = performance.now();
    // 4 fill a batch, which goes out (and hangs); 4 more fill the queue; the other 12 are dropped.
    endSpans(tracing, 20);
    assert.ok(performance.now() - began < 1000, 'ending spans never waits for the export');
    assert.deepEqual(tracing.stats(), { exported: 0, failed: 0, dropped: 12 });
    assert.deepEqual(warnings.filter((w) => w.kind === 'queue').map((w) => w.message), ['the span queue is full (4): spans dropped, counted in mcpmux_trace_spans_dropped_total']);
  });

  it('exports what is queued when it shuts down', async () => {
    const c = await collector(200);
    const tracing = await start(settings(c.url, { queue: { ...DEFAULT_QUEUE, scheduledDelayMillis: 60_000 } }));
    endSpans(tracing, 2);
    assert.equal(tracing.stats().exported, 0, 'nothing is sent before the delay');
    await tracing.shutdown(5000);
    assert.equal(tracing.stats().exported, 2);
    assert.equal(c.posts.length, 1);
  });

  it('shuts down within its budget when the collector is down, never rejecting, the same promise twice', async () => {
    const warnings: TracingWarning[] = [];
    const tracing = await start(settings(`http://127.0.0.1:${await freePort()}/v1/traces`, { queue: { ...DEFAULT_QUEUE, scheduledDelayMillis: 60_000, exportTimeoutMillis: 2000 } }), warnings);
    endSpans(tracing, 5);
    const began = performance.now();
    const first = tracing.shutdown(300);
    assert.equal(tracing.shutdown(10_000), first);
    await first;
    const took = performance.now() - began;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    assert.ok(warnings.some((w) => w.kind === 'stop'), JSON.stringify(warnings));
  });

  it('describes the service in its resource (service.name and version, the resource attributes, the SDK) and itself in the scope', async () => {
    const c = await collector(200);
    const tracing = await start(settings(c.url, { resourceAttributes: { 'deployment.environment': 'test', 'mcp.server.name': 'math' } }));
    endSpans(tracing, 1);
    await waitFor(() => tracing.stats().exported === 1, 'the span exported');
    const [resourceSpans] = decodeTraceRequest(c.posts[0]!.body).resourceSpans;
    assert.deepEqual(valuesOf(resourceSpans!.resource.attributes), {
      'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.name': 'mcpmux', 'telemetry.sdk.version': '0.1.0', 'service.version': '0.1.0',
      'deployment.environment': 'test', 'mcp.server.name': 'math', 'service.name': 'mcpmux-test',
    });
    const [scopeSpans] = resourceSpans!.scopeSpans;
    assert.deepEqual([scopeSpans!.scope.name, scopeSpans!.scope.version, scopeSpans!.spans.map((s) => s.name)], ['mcpmux', '0.1.0', ['span 0']]);
  });

  it('propagates W3C trace context and baggage, and registers nothing globally', async () => {
    const tracing = await start(settings('http://127.0.0.1:9/v1/traces'));
    const parent = tracing.propagator.extract(ROOT_CONTEXT, { traceparent: `${PARENT}-01`, tracestate: 'congo=t61', baggage: 'tenant=acme' }, getter);
    const span = tracing.tracer.startSpan('child', {}, parent);
    const out: Record<string, string> = {};
    tracing.propagator.inject(trace.setSpan(parent, span), out, { set: (c, k, v) => void (c[k] = v) });
    span.end();
    assert.match(out.traceparent!, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.equal(out.tracestate, 'congo=t61');
    assert.equal(out.baggage, 'tenant=acme');
    assert.deepEqual(propagation.fields(), [], 'no global propagator');
    assert.equal(trace.getTracer('x').startSpan('y').isRecording(), false, 'no global tracer provider');
  });

  it('sends the SDK\'s own diagnostics to onWarning, never to stdout', async () => {
    const warnings: TracingWarning[] = [];
    await start(settings('http://127.0.0.1:9/v1/traces'), warnings);
    diag.error('a diagnostic of the SDK');
    assert.deepEqual(warnings, [{ kind: 'sdk', message: 'a diagnostic of the SDK', suppressed: 0 }]);
  });
});

describe('the sampler', () => {
  const cases: [string, { parentBased: boolean; ratio: number }, 'none' | '01' | '00', boolean][] = [
    ['parent-based: a trace that starts here, ratio 1, is sampled', { parentBased: true, ratio: 1 }, 'none', true],
    ['parent-based: a trace that starts here, ratio 0, is not', { parentBased: true, ratio: 0 }, 'none', false],
    ['parent-based: a sampled caller is followed, whatever the ratio', { parentBased: true, ratio: 0 }, '01', true],
    ['parent-based: an unsampled caller is followed, whatever the ratio', { parentBased: true, ratio: 1 }, '00', false],
    ['not parent-based (always_off): a sampled caller is not followed', { parentBased: false, ratio: 0 }, '01', false],
    ['not parent-based (always_on): an unsampled caller is not followed', { parentBased: false, ratio: 1 }, '00', true],
  ];
  for (const [name, sampler, caller, sampled] of cases) {
    it(name, async () => {
      const tracing = await start(settings('http://127.0.0.1:9/v1/traces', { sampler }));
      const parent = caller === 'none' ? ROOT_CONTEXT : tracing.propagator.extract(ROOT_CONTEXT, { traceparent: `${PARENT}-${caller}` }, getter);
      const span = tracing.tracer.startSpan('s', {}, parent);
      span.end();
      assert.equal((span.spanContext().traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED, sampled);
      if (caller !== 'none') assert.equal(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c', 'the trace goes on, sampled or not');
    });
  }
});
