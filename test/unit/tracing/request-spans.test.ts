import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { endRequestSpans, startRequestSpans, type RequestFacts } from '../../../src/tracing/request-spans.js';
import { recordSpans, type FinishedSpan } from '../../helpers/span-recorder.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const HEADER_SPAN = '00f067aa0ba902b7';
const META_TRACE = '0af7651916cd43dd8448eb211c80319c';
const META_SPAN = 'b7ad6b7169203331';

function tracingWith(ratio = 1) {
  const recorder = recordSpans({ parentBased: true, ratio });
  return { tracing: recorder, exporter: { getFinishedSpans: () => recorder.finished() } };
}

const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  server: 'math', httpMethod: 'POST', httpVersion: '1.1', headers: {}, meta: undefined,
  call: { method: 'tools/call', name: 'add', protocol: '2025-06-18' }, details: () => ({ id: 7, clientAddress: '10.0.0.9', clientPort: 50123 }),
  childAddress: '127.0.0.1', childPort: 41000, startTime: performance.now(), ...over,
});

const byKind = (spans: FinishedSpan[], kind: SpanKind) => spans.find((s) => s.kind === kind)!;

describe('startRequestSpans', () => {
  it('parents the SERVER span on the header, the CLIENT span on it, and gives the child the CLIENT span’s context', () => {
    const { tracing, exporter } = tracingWith();
    const spans = startRequestSpans(tracing, facts({ headers: { traceparent: `00-${CLIENT_TRACE}-${HEADER_SPAN}-01`, tracestate: 'congo=t61' } }));
    endRequestSpans(spans, { status: 200, mcpError: '', aborted: false });
    const done = exporter.getFinishedSpans();
    const server = byKind(done, SpanKind.SERVER);
    const client = byKind(done, SpanKind.CLIENT);
    assert.equal(server.spanContext().traceId, CLIENT_TRACE);
    assert.equal(server.parentSpanContext?.spanId, HEADER_SPAN);
    assert.equal(client.parentSpanContext?.spanId, server.spanContext().spanId);
    assert.equal(spans.childHeaders.traceparent, `00-${CLIENT_TRACE}-${client.spanContext().spanId}-01`);
    assert.equal(spans.childHeaders.tracestate, 'congo=t61');
    assert.equal(spans.sampledTraceId, CLIENT_TRACE);
    assert.equal(server.name, 'tools/call add');
    assert.deepEqual(server.attributes, {
      'mcp.server.name': 'math', 'mcp.method.name': 'tools/call', 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'add', 'mcp.protocol.version': '2025-06-18',
      'jsonrpc.request.id': '7', 'network.transport': 'tcp', 'network.protocol.name': 'http', 'network.protocol.version': '1.1', 'http.request.method': 'POST',
      'client.address': '10.0.0.9', 'client.port': 50123, 'http.response.status_code': 200,
    });
    assert.equal(client.attributes['server.address'], '127.0.0.1');
    assert.equal(client.attributes['server.port'], 41000);
    assert.equal(server.status.code, SpanStatusCode.UNSET);
  });

  it('takes the parent from params._meta when the body has one, and links the header’s span', () => {
    const { tracing, exporter } = tracingWith();
    const spans = startRequestSpans(tracing, facts({
      headers: { traceparent: `00-${CLIENT_TRACE}-${HEADER_SPAN}-01` },
      meta: { traceparent: `00-${META_TRACE}-${META_SPAN}-01`, 'io.example/other': 1 },
    }));
    endRequestSpans(spans, { status: 200, mcpError: '', aborted: false });
    const server = byKind(exporter.getFinishedSpans(), SpanKind.SERVER);
    assert.equal(server.spanContext().traceId, META_TRACE);
    assert.equal(server.parentSpanContext?.spanId, META_SPAN);
    assert.deepEqual(server.links.map((l) => [l.context.traceId, l.context.spanId]), [[CLIENT_TRACE, HEADER_SPAN]]);
    assert.ok(spans.childHeaders.traceparent!.startsWith(`00-${META_TRACE}-`));
  });

  it('starts a trace of its own without a parent, and names a request that is no MCP call by its HTTP method', () => {
    const { tracing, exporter } = tracingWith();
    const spans = startRequestSpans(tracing, facts({ httpMethod: 'GET', call: undefined, details: () => ({ id: undefined, clientAddress: undefined, clientPort: undefined }) }));
    endRequestSpans(spans, { status: 200, mcpError: undefined, aborted: false });
    const server = byKind(exporter.getFinishedSpans(), SpanKind.SERVER);
    assert.equal(server.parentSpanContext, undefined);
    assert.equal(server.name, 'GET');
    assert.equal(server.attributes['mcp.method.name'], undefined);
  });

  it('with ratio 0 exports nothing, still propagates the caller’s trace, flagged not sampled, and asks nothing a recorded span needs', () => {
    const { tracing, exporter } = tracingWith(0);
    const root = startRequestSpans(tracing, facts({ details: () => assert.fail('an unsampled request reads no details') }));
    endRequestSpans(root, { status: 200, mcpError: '', aborted: false });
    assert.match(root.childHeaders.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(root.sampledTraceId, undefined);
    const followed = startRequestSpans(tracing, facts({ headers: { traceparent: `00-${CLIENT_TRACE}-${HEADER_SPAN}-00` } }));
    endRequestSpans(followed, { status: 200, mcpError: '', aborted: false });
    assert.match(followed.childHeaders.traceparent!, new RegExp(`^00-${CLIENT_TRACE}-(?!${HEADER_SPAN})[0-9a-f]{16}-00$`));
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it('follows a caller that sampled its trace even with ratio 0 (parent-based)', () => {
    const { tracing, exporter } = tracingWith(0);
    endRequestSpans(startRequestSpans(tracing, facts({ headers: { traceparent: `00-${CLIENT_TRACE}-${HEADER_SPAN}-01` } })), { status: 200, mcpError: '', aborted: false });
    assert.equal(exporter.getFinishedSpans().length, 2);
  });
});

describe('endRequestSpans', () => {
  const cases: [string, { status: number; mcpError: string | undefined }, Record<string, unknown> | undefined][] = [
    ['a tool result with isError', { status: 200, mcpError: 'tool_error' }, { 'error.type': 'tool_error' }],
    ['a JSON-RPC error', { status: 200, mcpError: '-32601' }, { 'error.type': '-32601', 'rpc.response.status_code': '-32601' }],
    ['a code outside the reserved range', { status: 200, mcpError: '_OTHER' }, { 'error.type': '_OTHER' }],
    ['a 502 from mcpmux', { status: 502, mcpError: undefined }, { 'error.type': '502' }],
    ['a plain result', { status: 200, mcpError: '' }, undefined],
    ['an SSE answer, not read', { status: 200, mcpError: undefined }, undefined],
  ];
  for (const [what, end, expected] of cases) {
    it(`sets error.type and the ERROR status for ${what}`, () => {
      const { tracing, exporter } = tracingWith();
      endRequestSpans(startRequestSpans(tracing, facts()), { ...end, aborted: false });
      for (const span of exporter.getFinishedSpans()) {
        assert.equal(span.attributes['error.type'], expected?.['error.type']);
        assert.equal(span.attributes['rpc.response.status_code'], expected?.['rpc.response.status_code']);
        assert.equal(span.status.code, expected ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      }
    });
  }
});
