/**
 * Spans encoded by mcpmux (otlp-encoding.ts), decoded by protobufjs with the official
 * opentelemetry-proto definitions: every field a collector reads comes out as it was set.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { encodeRequest, encodeResource, encodeScope, writeSpan } from '../../../src/tracing/otlp-encoding.js';
import { ProtobufWriter } from '../../../src/tracing/protobuf-writer.js';
import { createSampler } from '../../../src/tracing/sampler.js';
import { createTracer } from '../../../src/tracing/tracer.js';
import { decodeTraceRequest, valuesOf } from '../../helpers/otlp-decode.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

/** Ends what `make` starts, encodes it as one export, and decodes that. */
function roundTrip(make: (tracer: ReturnType<typeof createTracer>) => void, resource: Record<string, string> = { 'service.name': 's' }) {
  const writer = new ProtobufWriter(64);
  const tracer = createTracer(createSampler({ parentBased: true, ratio: 1 }), { take: (span) => writeSpan(writer, span) });
  make(tracer);
  const request = decodeTraceRequest(encodeRequest(encodeResource(resource), encodeScope('mcpmux', '9.9.9'), writer.view()));
  assert.equal(request.resourceSpans.length, 1);
  const [resourceSpans] = request.resourceSpans;
  return { resource: valuesOf(resourceSpans!.resource.attributes), scope: resourceSpans!.scopeSpans[0]!.scope, spans: resourceSpans!.scopeSpans[0]!.spans };
}

const remoteParent = () => new W3CTraceContextPropagator().extract(ROOT_CONTEXT, { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'congo=t61,rojo=00f067aa0ba902b7' }, { get: (c: Record<string, string>, k) => c[k], keys: (c) => Object.keys(c) });

describe('OTLP trace encoding', () => {
  it('writes the resource, the scope and every field of a span as a collector decodes them', () => {
    let started: Span | undefined;
    // ms since the epoch (after the process began: an earlier number is read as performance.now()), 125,000 ns past them.
    const begin = Date.now() + 0.125;
    const { resource, scope, spans } = roundTrip((tracer) => {
      started = tracer.startSpan('tools/call add', { kind: SpanKind.SERVER, startTime: begin, attributes: { 'mcp.method.name': 'tools/call' } }, remoteParent());
      started.setAttribute('client.port', 50123);
      started.setAttribute('negative', -32601);
      started.setAttribute('big', 2 ** 40);
      started.setAttribute('ratio', 0.25);
      started.setAttribute('ok', true);
      started.setAttribute('names', ['a', 'b']);
      started.setAttribute('counts', [1, 2, 3]);
      started.setAttribute('holes', ['a', null, 'c']);
      started.setAttribute('mcp.method.name', 'tools/call again'); // replaces, keeps its place
      started.setStatus({ code: SpanStatusCode.ERROR, message: 'it broke' });
      started.end([Math.floor(begin / 1000) + 1, 500]);
    }, { 'service.name': 'mcpmux-test', 'telemetry.sdk.language': 'nodejs' });
    assert.deepEqual(resource, { 'service.name': 'mcpmux-test', 'telemetry.sdk.language': 'nodejs' });
    assert.deepEqual([scope.name, scope.version], ['mcpmux', '9.9.9']);
    const [span] = spans;
    assert.equal(span!.traceId, TRACE);
    assert.equal(span!.spanId, started!.spanContext().spanId);
    assert.equal(span!.parentSpanId, PARENT);
    assert.equal(span!.traceState, 'congo=t61,rojo=00f067aa0ba902b7');
    assert.equal(span!.name, 'tools/call add');
    assert.equal(span!.kind, 2, 'SPAN_KIND_SERVER');
    // 0x01 sampled, 0x100 the parent's remoteness known, 0x200 remote.
    assert.equal(span!.flags, 0x301);
    assert.equal(span!.startTimeUnixNano, String(BigInt(Math.floor(begin)) * 1_000_000n + 125_000n));
    assert.equal(span!.endTimeUnixNano, String(BigInt(Math.floor(begin / 1000) + 1) * 1_000_000_000n + 500n));
    assert.deepEqual(Object.keys(valuesOf(span!.attributes))[0], 'mcp.method.name');
    assert.deepEqual(valuesOf(span!.attributes), {
      'mcp.method.name': 'tools/call again', 'client.port': 50123, negative: -32601, big: 2 ** 40, ratio: 0.25, ok: true, names: ['a', 'b'], counts: [1, 2, 3], holes: ['a', null, 'c'],
    });
    assert.deepEqual(span!.status, { message: 'it broke', code: 2 });
  });

  it('writes a root span without parent, links with their context, events, and lengths past one byte', () => {
    const long = 'x'.repeat(20_000);
    const link = { traceId: TRACE, spanId: PARENT, traceFlags: TraceFlags.SAMPLED, isRemote: true };
    let root: Span | undefined;
    const { spans } = roundTrip((tracer) => {
      const span = (root = tracer.startSpan('root', { links: [{ context: link, attributes: { why: 'header' } }] }, ROOT_CONTEXT));
      span.setAttribute('long', long);
      span.setAttribute('é', 'ünïcödé ✓');
      span.addEvent('started', { step: 1 });
      span.recordException(new TypeError('bad input'));
      span.end();
    });
    const [span] = spans;
    // The ids as the api shows them (hex) and as they were encoded (words) are the same ids.
    assert.deepEqual([span!.traceId, span!.spanId], [root!.spanContext().traceId, root!.spanContext().spanId]);
    assert.equal(span!.parentSpanId, undefined);
    assert.equal(span!.flags, 0x101);
    assert.equal(span!.kind, 1, 'SPAN_KIND_INTERNAL');
    assert.equal(valuesOf(span!.attributes).long, long);
    assert.equal(valuesOf(span!.attributes)['é'], 'ünïcödé ✓');
    assert.deepEqual(span!.links?.map((l) => [l.traceId, l.spanId, valuesOf(l.attributes), l.flags]), [[TRACE, PARENT, { why: 'header' }, 0x301]]);
    assert.deepEqual(span!.events?.map((e) => [e.name, valuesOf(e.attributes).step ?? valuesOf(e.attributes)['exception.type']]), [['started', 1], ['exception', 'TypeError']]);
    assert.ok(BigInt(span!.endTimeUnixNano) >= BigInt(span!.startTimeUnixNano));
  });

  it('writes many spans as one request, each as it ended', () => {
    const { spans } = roundTrip((tracer) => {
      const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      for (let i = 0; i < 300; i++) tracer.startSpan(`child ${i}`, { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, parent)).end();
      parent.end();
    });
    assert.equal(spans.length, 301);
    assert.equal(spans[299]!.name, 'child 299');
    assert.equal(spans[299]!.parentSpanId, spans[300]!.spanId);
    assert.equal(spans[299]!.flags, 0x101, 'a local parent is not remote');
    assert.equal(spans[0]!.kind, 3, 'SPAN_KIND_CLIENT');
  });

  it('writes a repeated attribute from its kept encoding, and a key past its bound of kept values anew', () => {
    const { spans } = roundTrip((tracer) => {
      for (let i = 0; i < 600; i++) {
        const span = tracer.startSpan('s', {}, ROOT_CONTEXT);
        span.setAttribute('route', i % 2 === 0 ? 'even' : 'odd');
        span.setAttribute('n', i);
        span.setAttribute('n as text', String(i));
        span.end();
      }
    });
    assert.deepEqual(spans.map((s) => valuesOf(s.attributes)), Array.from({ length: 600 }, (_, i) => ({ route: i % 2 === 0 ? 'even' : 'odd', n: i, 'n as text': String(i) })));
  });

  it('writes a frozen group of start attributes from its one encoding, then what was set, and a group key set later in its place', () => {
    const group = Object.freeze({ 'mcp.server.name': 'echo', 'mcp.method.name': 'tools/call', 'server.port': 4100, ok: true });
    const { spans } = roundTrip((tracer) => {
      for (let i = 0; i < 3; i++) {
        const span = tracer.startSpan('s', { attributes: group }, ROOT_CONTEXT);
        span.setAttribute('jsonrpc.request.id', String(i));
        if (i === 2) span.setAttribute('mcp.method.name', 'tools/list');
        span.end();
      }
    });
    const lists = spans.map((s) => s.attributes!.map(({ key }) => key));
    assert.deepEqual(lists[0], ['mcp.server.name', 'mcp.method.name', 'server.port', 'ok', 'jsonrpc.request.id']);
    assert.deepEqual(lists[2], lists[0], 'a group key set later keeps its place');
    assert.deepEqual(spans.map((s) => valuesOf(s.attributes)), [0, 1, 2].map((i) => ({ 'mcp.server.name': 'echo', 'mcp.method.name': i === 2 ? 'tools/list' : 'tools/call', 'server.port': 4100, ok: true, 'jsonrpc.request.id': String(i) })));
  });
});
