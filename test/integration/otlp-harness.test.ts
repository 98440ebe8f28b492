/**
 * The tracing test harness itself, without mcpmux: the OTLP receiver (helpers/otlp.ts,
 * @elastic/mockotlpserver) gets the spans of the instrumented fixtures, run directly: the Node one
 * (OTel SDK 2.x, OTLP/protobuf) and the Python one (OTLP/JSON by the standard library), called by
 * the real SDK client with a traceparent header and `_meta.traceparent`. The stdio fixture shows the
 * `_meta` it was sent, and the broken collector refuses as told.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startFixtureProcess, startListeningProcess, type FixtureProcess } from '../helpers/fixture-process.js';
import { connectClient, fetchWithHeaders, textOf } from '../helpers/mcp-client.js';
import { makeTraceparent, otlpReceiver, startStatusCollector, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { fixture, ROOT } from '../helpers/paths.js';
import { ensurePythonVenv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const running: FixtureProcess[] = [];
let receiver: OtlpReceiver;
before(async () => {
  receiver = await otlpReceiver();
});
after(async () => {
  await Promise.all(running.map((fixtureProcess) => fixtureProcess.stop()));
  await receiver.stop();
});

/** traced-server exporting to the receiver as `traced-node`, unless `env` says otherwise. */
async function startTraced(env: Record<string, string> = {}): Promise<{ server: FixtureProcess; url: string }> {
  const server = await startFixtureProcess('traced-server', [], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl, OTEL_SERVICE_NAME: 'traced-node', ...env });
  running.push(server);
  return { server, url: `http://127.0.0.1:${server.listening.port}/mcp` };
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((span) => span.name === name);

describe('the OTLP test receiver', () => {
  it('is one per test process', async () => {
    assert.equal(await otlpReceiver(), receiver);
    assert.match(receiver.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(receiver.tracesUrl, `${receiver.url}/v1/traces`);
  });

  it('reads OTLP/JSON into the same shape as OTLP/protobuf', async () => {
    const { traceId, spanId } = makeTraceparent();
    const linked = makeTraceparent();
    const span = {
      traceId: traceId.toUpperCase(), spanId: 'aaaaaaaaaaaaaaaa', parentSpanId: spanId, name: 'by hand', kind: 3,
      startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '1700000000000000002',
      attributes: [{ key: 'n', value: { intValue: '7' } }, { key: 'b', value: { boolValue: true } }, { key: 's', value: { stringValue: 'x' } }],
      links: [{ traceId: linked.traceId, spanId: linked.spanId, attributes: [{ key: 'why', value: { stringValue: 'link' } }] }],
      events: [{ name: 'exception', timeUnixNano: '1700000000000000001', attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }] }],
      status: { code: 2, message: 'broken' },
    };
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'by-hand' } }] }, scopeSpans: [{ scope: { name: 'test' }, spans: [span] }] }] };
    const res = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    await receiver.waitForSpans(() => receiver.spansOf(traceId).length === 1, 'the span sent by hand');
    assert.deepEqual(receiver.spansOf(traceId)[0], {
      traceId, spanId: 'aaaaaaaaaaaaaaaa', parentSpanId: spanId, traceState: '', name: 'by hand', kind: 'CLIENT',
      serviceName: 'by-hand', resource: { 'service.name': 'by-hand' }, scope: 'test', attributes: { n: 7, b: true, s: 'x' },
      links: [{ traceId: linked.traceId, spanId: linked.spanId, attributes: { why: 'link' } }],
      events: [{ name: 'exception', attributes: { 'exception.message': 'boom' } }],
      status: { code: 'ERROR', message: 'broken' }, startNs: 1700000000000000001n, endNs: 1700000000000000002n,
    });
  });
});

describe('a broken collector', () => {
  it('answers every export with the status it was given, and counts them', async () => {
    const collector = await startStatusCollector(400);
    try {
      const res = await fetch(collector.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: 'x' });
      assert.equal(res.status, 400);
      assert.equal(collector.requests(), 1);
      const { url } = await startTraced({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.tracesUrl });
      const { client } = await connectClient(url);
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still served' } })), 'still served');
      await client.close();
      await waitFor(() => collector.requests() >= 2, "the traced server's export, refused");
    } finally {
      await collector.stop();
    }
  });
});

describe('traced-server: a Node MCP server instrumented with the OTel SDK 2.x', () => {
  let url: string;
  before(async () => {
    ({ url } = await startTraced());
  });

  it('exports a SERVER span per HTTP request, a child of its traceparent header, and a tools/call span beneath it', async () => {
    const caller = makeTraceparent();
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders({ traceparent: caller.traceparent }) });
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
    await client.close();
    // The call's span and its HTTP span's may come in different batches: wait for both.
    await receiver.waitForSpans(() => named(receiver.spansOf(caller.traceId), 'tools/call echo').length === 1 && named(receiver.spansOf(caller.traceId), 'POST /mcp').length >= 3, "the echo call's spans");
    const trace = receiver.spansOf(caller.traceId);
    const posts = named(trace, 'POST /mcp');
    assert.ok(posts.length >= 3, 'initialize, notifications/initialized and the call, at least');
    for (const post of posts) {
      assert.deepEqual([post.kind, post.parentSpanId, post.serviceName], ['SERVER', caller.spanId, 'traced-node']);
    }
    const [call] = named(trace, 'tools/call echo');
    assert.equal(call!.kind, 'SERVER');
    const carrier = posts.find((post) => post.spanId === call!.parentSpanId);
    assert.equal(carrier?.attributes['http.response.status_code'], 200, 'the tools/call span is a child of the HTTP span that carried it');
    assert.deepEqual(posts.map((post) => post.attributes['http.response.status_code']).sort(), [200, 200, 202], 'initialize and the call 200, the notification 202');
    assert.deepEqual(call!.links, []);
    assert.deepEqual(call!.attributes, { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'gen_ai.operation.name': 'execute_tool', 'jsonrpc.request.id': call!.attributes['jsonrpc.request.id'] });
  });

  it('parents the tools/call span by _meta.traceparent and links it to the HTTP span', async () => {
    const caller = makeTraceparent();
    const meta = makeTraceparent();
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders({ traceparent: caller.traceparent }) });
    const sent = { traceparent: meta.traceparent, tracestate: 'congo=t61rcWkgMzE', 'example.com/other': 1 };
    assert.deepEqual(JSON.parse(textOf(await client.callTool({ name: 'meta', arguments: {}, _meta: sent }))), sent);
    await client.close();
    const linkedSpan = () => receiver.spansOf(caller.traceId).find((span) => span.spanId === receiver.spansOf(meta.traceId)[0]?.links[0]?.spanId);
    await receiver.waitForSpans(() => linkedSpan() !== undefined, 'the span of the call with _meta, and the HTTP span it links');
    const [call] = receiver.spansOf(meta.traceId);
    assert.deepEqual([call!.name, call!.kind, call!.parentSpanId, call!.traceState], ['tools/call meta', 'SERVER', meta.spanId, 'congo=t61rcWkgMzE']);
    assert.equal(call!.links.length, 1);
    const [link] = call!.links;
    const http = linkedSpan();
    assert.equal(link!.traceId, caller.traceId);
    assert.deepEqual([http?.name, http?.parentSpanId], ['POST /mcp', caller.spanId], 'the link is the HTTP span of that call');
  });

  it('answers trace_headers with the trace headers its HTTP request carried', async () => {
    const headers = { traceparent: makeTraceparent().traceparent, tracestate: 'rojo=00f067aa0ba902b7', baggage: 'tenant=acme' };
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders(headers) });
    assert.deepEqual(JSON.parse(textOf(await client.callTool({ name: 'trace_headers', arguments: {} }))), headers);
    await client.close();
    const { client: plain } = await connectClient(url);
    assert.deepEqual(JSON.parse(textOf(await plain.callTool({ name: 'trace_headers', arguments: {} }))), { traceparent: null, tracestate: null, baggage: null });
    await plain.close();
  });

  it('answers fails with isError, and marks its span tool_error', async () => {
    const caller = makeTraceparent();
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders({ traceparent: caller.traceparent }) });
    const result = await client.callTool({ name: 'fails', arguments: {} });
    await client.close();
    assert.equal(result.isError, true);
    await receiver.waitForSpans(() => named(receiver.spansOf(caller.traceId), 'tools/call fails').length === 1, 'the failing call\'s span');
    const [call] = named(receiver.spansOf(caller.traceId), 'tools/call fails');
    assert.deepEqual([call!.attributes['error.type'], call!.status.code], ['tool_error', 'ERROR']);
  });

  it('flushes the spans it still holds when stopped with SIGTERM', async () => {
    const traced = await startTraced({ OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_SERVICE_NAME: '' });
    const caller = makeTraceparent();
    const { client } = await connectClient(traced.url, 'traced', { fetch: fetchWithHeaders({ traceparent: caller.traceparent }) });
    await client.callTool({ name: 'echo', arguments: { text: 'queued' } });
    await client.close();
    assert.deepEqual(receiver.spansOf(caller.traceId), [], 'a ten-minute batch delay: nothing exported yet');
    await traced.server.stop();
    await receiver.waitForSpans(() => named(receiver.spansOf(caller.traceId), 'tools/call echo').length === 1, 'the spans flushed on SIGTERM', 5_000);
    assert.equal(receiver.spansOf(caller.traceId)[0]!.serviceName, 'traced-server', 'the default service name');
  });
});

describe('py_traced_server: a Python MCP server (SDK 2.x) exporting OTLP/JSON by hand', () => {
  let url: string;
  before(async () => {
    const python = path.join(ensurePythonVenv(), 'python');
    const server = await startListeningProcess(python, [path.join(ROOT, 'test/fixtures/py_traced_server.py')], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl, OTEL_SERVICE_NAME: 'traced-python' }, 30_000, 'py_traced_server');
    running.push(server);
    url = `http://127.0.0.1:${server.listening.port}/mcp`;
  });

  it('exports a SERVER span per HTTP request, a child of its traceparent header', async () => {
    const caller = makeTraceparent();
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders({ traceparent: caller.traceparent, tracestate: 'rojo=1' }) });
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
    await client.close();
    // initialize, notifications/initialized and the call: three POSTs at least.
    await receiver.waitForSpans(() => named(receiver.spansOf(caller.traceId), 'POST /mcp').length >= 3, 'the Python HTTP spans');
    for (const post of named(receiver.spansOf(caller.traceId), 'POST /mcp')) {
      assert.deepEqual([post.kind, post.parentSpanId, post.serviceName, post.traceState], ['SERVER', caller.spanId, 'traced-python', 'rojo=1']);
      assert.ok([200, 202].includes(post.attributes['http.response.status_code'] as number), JSON.stringify(post.attributes));
    }
  });

  it('answers trace_headers with the trace headers its HTTP request carried', async () => {
    const headers = { traceparent: makeTraceparent().traceparent, tracestate: 'rojo=00f067aa0ba902b7', baggage: 'tenant=acme' };
    const { client } = await connectClient(url, 'traced', { fetch: fetchWithHeaders(headers) });
    assert.deepEqual(JSON.parse(textOf(await client.callTool({ name: 'trace_headers', arguments: {} }))), headers);
    await client.close();
  });
});

describe('stdio-meta: a stdio server that shows the _meta it was sent', () => {
  it('answers meta with the _meta of its tools/call, as sent', async () => {
    const client = new Client({ name: 'stdio-meta-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [fixture('stdio-meta')] }));
    try {
      const sent = { traceparent: makeTraceparent().traceparent, tracestate: 'congo=t61rcWkgMzE', progressToken: 7, 'example.com/note': { kept: [1, 'a'] } };
      assert.deepEqual(JSON.parse(textOf(await client.callTool({ name: 'meta', arguments: {}, _meta: sent }))), sent);
      assert.equal(textOf(await client.callTool({ name: 'meta', arguments: {} })), 'null');
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'down the pipe' } })), 'down the pipe');
    } finally {
      await client.close();
    }
  });
});
