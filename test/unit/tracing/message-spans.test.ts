import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createMessageSpans } from '../../../src/tracing/message-spans.js';
import { recordSpans } from '../../helpers/span-recorder.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const HOP = '00f067aa0ba902b7';

function spansWith() {
  const recorder = recordSpans();
  return { spans: createMessageSpans(recorder, 'files'), exporter: { getFinishedSpans: () => recorder.finished() } };
}

describe('createMessageSpans', () => {
  it("writes its span's context into _meta, in mcpmux's trace, and keeps the client's other _meta keys", () => {
    const { spans, exporter } = spansWith();
    const sent = spans.start(
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'read', _meta: { progressToken: 'p', traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, 'io.example/k': 'v' } } },
      { traceparent: `00-${TRACE}-${HOP}-01` },
    );
    spans.end(4, { jsonrpc: '2.0', id: 4, result: { content: [] } });
    const [span] = exporter.getFinishedSpans();
    assert.equal(span!.kind, SpanKind.CLIENT);
    assert.equal(span!.name, 'tools/call read');
    assert.equal(span!.spanContext().traceId, TRACE);
    assert.equal(span!.parentSpanContext?.spanId, HOP);
    assert.deepEqual(sent.params!._meta, { progressToken: 'p', 'io.example/k': 'v', traceparent: `00-${TRACE}-${span!.spanContext().spanId}-01` });
    assert.equal(span!.attributes['network.transport'], 'pipe');
    assert.equal(span!.attributes['mcp.server.name'], 'files');
    assert.equal(span!.status.code, SpanStatusCode.UNSET);
  });

  it('ends a span with the error an answer carries, and every open one when the session ends', () => {
    const { spans, exporter } = spansWith();
    spans.start({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a' } }, undefined);
    spans.start({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'b' } }, undefined);
    spans.start({ jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'c' } }, undefined);
    spans.end(1, { jsonrpc: '2.0', id: 1, result: { content: [], isError: true } });
    spans.end(2, { jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'bad' } });
    spans.endAll('process-exited');
    const attrs = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, [s.attributes['error.type'], s.status.code]]));
    assert.deepEqual(attrs, {
      'tools/call a': ['tool_error', SpanStatusCode.ERROR],
      'tools/call b': ['-32602', SpanStatusCode.ERROR],
      'prompts/get c': ['process-exited', SpanStatusCode.ERROR],
    });
  });
});
