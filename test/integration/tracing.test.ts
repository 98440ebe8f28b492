/**
 * One call followed from the client through mcpmux into its servers (issue 24): a real OTLP
 * receiver (mockotlpserver), servers instrumented with the OTel SDK (Node) and with the OTel API's
 * propagator and a hand-written export (Python: the SDK does not install from this machine's
 * mirror), and a stdio server through the bridge.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { connectClient, fetchWithHeaders, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { makeTraceparent, otlpReceiver, startStatusCollector, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { fixture, ROOT } from '../helpers/paths.js';
import { ensurePythonVenv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const execFileAsync = promisify(execFile);

/** mcpmux exports every 100 ms here, so that a test waits for its spans no longer than that. */
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: '100' };

/** A raw JSON-RPC POST to a route; the answer parsed (JSON answers only). */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const call = (id: number | string, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) =>
  ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta && { _meta: meta }) } });

const one = (spans: ReceivedSpan[], what: string, pick: (s: ReceivedSpan) => boolean): ReceivedSpan => {
  const found = spans.filter(pick);
  assert.equal(found.length, 1, `one ${what} in ${spans.map((s) => `${s.serviceName}/${s.name}/${s.kind}`).join(', ')}`);
  return found[0]!;
};

// The receiver is this process's: stopped once every test is done.
after(async () => (await otlpReceiver()).stop());

describe('traces', () => {
  let receiver: OtlpReceiver;
  let mux: Mcpmux;
  let python: string;

  before(async () => {
    receiver = await otlpReceiver();
    python = path.join(ensurePythonVenv(), 'python');
    mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      tracing: { endpoint: receiver.url, serverEnv: true },
      servers: {
        node: fixtureServer('traced-server'),
        py: { command: python, args: [path.join(ROOT, 'test/fixtures/py_traced_server.py')] },
        files: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-meta')] },
      },
    }, { env: FAST_EXPORT });
    await mux.waitReady(60_000);
  });
  after(stopAll);

  it("runs one trace from the client through mcpmux's SERVER and CLIENT spans into the Node server's, every parent right", async () => {
    const client = makeTraceparent();
    const answer = await post(`${mux.publicUrl}/node/mcp`, call(41, 'trace_headers'), { traceparent: client.traceparent, tracestate: 'congo=t61', baggage: 'tenant=acme' });
    assert.equal(answer.status, 200);
    const spans = await receiver.waitForSpans(() => receiver.spansOf(client.traceId).length >= 4, 'mcpmux’s two spans and the server’s two');
    const inTrace = receiver.spansOf(client.traceId);
    const server = one(inTrace, 'mcpmux SERVER span', (s) => s.serviceName === 'mcpmux' && s.kind === 'SERVER');
    const hop = one(inTrace, 'mcpmux CLIENT span', (s) => s.serviceName === 'mcpmux' && s.kind === 'CLIENT');
    const childHttp = one(inTrace, 'the server’s HTTP span', (s) => s.serviceName === 'node' && s.name.startsWith('POST'));
    const childCall = one(inTrace, 'the server’s tools/call span', (s) => s.serviceName === 'node' && s.name === 'tools/call trace_headers');
    assert.equal(server.parentSpanId, client.spanId, "mcpmux's SERVER span is the client's child");
    assert.equal(hop.parentSpanId, server.spanId, 'the hop is a child of the SERVER span');
    assert.equal(childHttp.parentSpanId, hop.spanId, "the server's span is a child of the hop, not a sibling");
    assert.equal(childCall.parentSpanId, childHttp.spanId);
    assert.equal(server.name, 'tools/call trace_headers');
    assert.deepEqual(
      Object.fromEntries(['mcp.method.name', 'gen_ai.tool.name', 'gen_ai.operation.name', 'jsonrpc.request.id', 'mcp.server.name', 'network.transport', 'client.address', 'http.response.status_code'].map((k) => [k, server.attributes[k]])),
      { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'trace_headers', 'gen_ai.operation.name': 'execute_tool', 'jsonrpc.request.id': '41', 'mcp.server.name': 'node', 'network.transport': 'tcp', 'client.address': '127.0.0.1', 'http.response.status_code': 200 },
    );
    assert.equal(hop.attributes['server.address'], '127.0.0.1');
    // What the server got: the hop's context, never the client's; tracestate and baggage passed on.
    const got = JSON.parse(textOf(answer.body.result));
    assert.equal(got.traceparent, `00-${client.traceId}-${hop.spanId}-01`);
    assert.equal(got.tracestate, 'congo=t61');
    assert.equal(got.baggage, 'tenant=acme');
    // The access log line names the trace.
    await mux.waitForLog((r) => r.msg === 'request' && r.traceId === client.traceId, 'the access log to name the trace');
    assert.ok(spans.length > 0);
  });

  it("takes the parent from params._meta over the header, links the header's span, and gives the server the hop's _meta", async () => {
    const inHeader = makeTraceparent();
    const inMeta = makeTraceparent();
    const answer = await post(`${mux.publicUrl}/node/mcp`, call(42, 'meta', {}, { traceparent: inMeta.traceparent, 'io.example/keep': 'me' }), { traceparent: inHeader.traceparent });
    await receiver.waitForSpans(() => receiver.spansOf(inMeta.traceId).length >= 4, 'mcpmux’s two spans and the server’s two, in the _meta trace');
    const inTrace = receiver.spansOf(inMeta.traceId);
    const server = one(inTrace, 'mcpmux SERVER span', (s) => s.serviceName === 'mcpmux' && s.kind === 'SERVER');
    const hop = one(inTrace, 'mcpmux CLIENT span', (s) => s.serviceName === 'mcpmux' && s.kind === 'CLIENT');
    assert.equal(server.parentSpanId, inMeta.spanId);
    assert.deepEqual(server.links.map((l) => [l.traceId, l.spanId]), [[inHeader.traceId, inHeader.spanId]]);
    const meta = JSON.parse(textOf(answer.body.result));
    assert.equal(meta.traceparent, `00-${inMeta.traceId}-${hop.spanId}-01`);
    assert.equal(meta['io.example/keep'], 'me');
    const childCall = one(inTrace, 'the server’s tools/call span', (s) => s.serviceName === 'node' && s.name === 'tools/call meta');
    assert.equal(childCall.parentSpanId, hop.spanId, "the server's MCP span is a child of the hop");
    // The header's baggage still passes on when the parent came from _meta.
    const headers = JSON.parse(textOf((await post(`${mux.publicUrl}/node/mcp`, call(46, 'trace_headers', {}, { traceparent: makeTraceparent().traceparent }), { baggage: 'tenant=acme' })).body.result));
    assert.equal(headers.baggage, 'tenant=acme');
  });

  it('joins the Python server’s span to the trace as a child of the hop', async () => {
    const client = makeTraceparent();
    const { client: sdk } = await connectClient(`${mux.publicUrl}/py/mcp`, 'traced', { fetch: fetchWithHeaders({ traceparent: client.traceparent, tracestate: 'congo=t61' }) });
    assert.equal(textOf(await sdk.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
    await sdk.close();
    // Each of the Python server's spans (initialize, the notification, the call, the session's end) a child of one of mcpmux's hops,
    // with the client's tracestate, as OpenTelemetry's Python API read them from mcpmux's headers.
    const parented = () => {
      const inTrace = receiver.spansOf(client.traceId);
      const hops = new Set(inTrace.filter((s) => s.serviceName === 'mcpmux' && s.kind === 'CLIENT').map((s) => s.spanId));
      const children = inTrace.filter((s) => s.serviceName === 'py');
      return children.length >= 3 && children.every((child) => hops.has(child.parentSpanId) && child.traceState === 'congo=t61');
    };
    await receiver.waitForSpans(parented, 'every span of the Python server under a hop of mcpmux');
  });

  it("writes the bridge's span into a stdio server's _meta, in the client's trace", async () => {
    const client = makeTraceparent();
    const { client: sdk } = await connectClient(`${mux.publicUrl}/files/mcp`, 'traced', { fetch: fetchWithHeaders({ traceparent: client.traceparent }) });
    const meta = JSON.parse(textOf(await sdk.callTool({ name: 'meta', arguments: {} })));
    await sdk.close();
    const [, traceId, spanId, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(meta.traceparent) ?? [];
    assert.equal(traceId, client.traceId);
    assert.equal(flags, '01');
    // The bridge's spans (network.transport pipe) and mcpmux's hops (tcp) come in separate exports.
    const isHop = (s: ReceivedSpan) => s.serviceName === 'mcpmux' && s.kind === 'CLIENT' && s.attributes['network.transport'] === 'tcp';
    await receiver.waitForSpans(() => {
      const spans = receiver.spansOf(client.traceId);
      const bridged = spans.find((s) => s.spanId === spanId);
      return bridged !== undefined && spans.some((s) => isHop(s) && s.spanId === bridged.parentSpanId) && spans.some((s) => s.name === 'session start') && spans.some((s) => isHop(s) && s.name === 'initialize');
    }, 'the bridge’s spans and the hops above them');
    const inTrace = receiver.spansOf(client.traceId);
    const bridge = one(inTrace, 'bridge span', (s) => s.spanId === spanId);
    assert.equal(bridge.name, 'tools/call meta');
    assert.equal(bridge.attributes['network.transport'], 'pipe');
    const hop = one(inTrace, 'the hop of that call', (s) => isHop(s) && s.spanId === bridge.parentSpanId);
    assert.equal(hop.name, 'tools/call meta');
    // What the session's first answer waited on: a process for it, then initialize down stdio, both under the initialize's hop.
    const spans = inTrace;
    const initializeHop = one(spans, 'the hop of initialize', (s) => isHop(s) && s.name === 'initialize');
    assert.equal(one(spans, 'session start', (s) => s.name === 'session start').parentSpanId, initializeHop.spanId);
    assert.equal(one(spans, "the bridge's initialize", (s) => s.name === 'initialize' && s.attributes['network.transport'] === 'pipe').parentSpanId, initializeHop.spanId);
  });

  it('records a rollout as a span of its own, from its start to the new process taking over', async () => {
    const before = new Set(receiver.spans().map((s) => s.spanId));
    await execFileAsync(process.execPath, [path.join(ROOT, 'dist/src/main.js'), 'rollout', 'node', '--control-socket', mux.controlSocket], { timeout: 60_000 });
    const [span] = await receiver.waitForSpans((all) => all.some((s) => !before.has(s.spanId) && s.name === 'rollout node'), 'the rollout span');
    const rollout = receiver.spans().find((s) => !before.has(s.spanId) && s.name === 'rollout node')!;
    assert.equal(rollout.serviceName, 'mcpmux');
    assert.equal(rollout.parentSpanId, '');
    assert.equal(rollout.attributes['mcpmux.rollout.trigger'], 'mcpmux rollout');
    assert.equal(typeof rollout.attributes['process.pid'], 'number');
    assert.ok(rollout.endNs - rollout.startNs > 10_000_000n, 'it lasts from the start of the new process to its taking over');
    assert.ok(span);
  });

  it('sets error.type: tool_error for isError, and the JSON-RPC code of an error', async () => {
    const failing = makeTraceparent();
    await post(`${mux.publicUrl}/node/mcp`, call(43, 'fails'), { traceparent: failing.traceparent });
    const unknown = makeTraceparent();
    const answer = await post(`${mux.publicUrl}/node/mcp`, call(44, 'no-such-tool'), { traceparent: unknown.traceparent });
    const code = String(answer.body.error?.code ?? answer.body.result?.isError);
    const serverSpan = async (traceId: string) =>
      (await receiver.waitForSpans(() => receiver.spansOf(traceId).some((s) => s.serviceName === 'mcpmux' && s.kind === 'SERVER'), 'mcpmux’s span'))
      && receiver.spansOf(traceId).find((s) => s.serviceName === 'mcpmux' && s.kind === 'SERVER')!;
    const tool = await serverSpan(failing.traceId);
    assert.equal(tool.attributes['error.type'], 'tool_error');
    assert.equal(tool.status.code, 'ERROR');
    const rpc = await serverSpan(unknown.traceId);
    assert.equal(rpc.attributes['error.type'], code === 'true' ? 'tool_error' : code);
    assert.equal(rpc.status.code, 'ERROR');
  });

  it('makes no span for what mcpmux refuses itself before the hop (an unknown route, a body over the limit)', async () => {
    const refused = makeTraceparent();
    assert.equal((await post(`${mux.publicUrl}/nowhere/mcp`, call(47, 'echo'), { traceparent: refused.traceparent })).status, 404);
    const big = { ...call(48, 'echo', { text: 'x'.repeat(4 * 1024 * 1024 + 1) }) };
    assert.equal((await post(`${mux.publicUrl}/node/mcp`, big, { traceparent: refused.traceparent })).status, 413);
    // A span of those would have ended before this request began, and spans are exported in the order they end.
    const later = makeTraceparent();
    assert.equal((await post(`${mux.publicUrl}/node/mcp`, call(49, 'echo', { text: 'x' }), { traceparent: later.traceparent })).status, 200);
    await receiver.waitForSpans(() => receiver.spansOf(later.traceId).some((s) => s.serviceName === 'mcpmux' && s.kind === 'SERVER'), 'the later request’s span');
    assert.deepEqual(receiver.spansOf(refused.traceId).map((s) => `${s.serviceName}/${s.name}`), []);
  });

  it('carries the trace id of a request as an exemplar on the request histogram', async () => {
    const client = makeTraceparent();
    await post(`${mux.publicUrl}/node/mcp`, call(45, 'echo', { text: 'x' }), { traceparent: client.traceparent });
    const text = await (await fetch(`${mux.adminUrl}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).text();
    assert.match(text, new RegExp(`^mcpmux_request_duration_seconds_bucket\\{[^}]*server="node"[^}]*\\} \\d+ # \\{trace_id="${client.traceId}"\\}`, 'm'));
  });
});

describe('traces, sampled out or off', () => {
  after(stopAll);

  it('with ratio 0 exports no span of mcpmux, and still hands the server the trace, flagged not sampled', async () => {
    const receiver = await otlpReceiver();
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, tracing: { endpoint: receiver.url, sampler: { ratio: 0 } }, servers: { node: fixtureServer('traced-server') } }, { env: FAST_EXPORT });
    await mux.waitReady(30_000);
    const client = makeTraceparent(false);
    const got = JSON.parse(textOf((await post(`${mux.publicUrl}/node/mcp`, call(1, 'trace_headers'), { traceparent: client.traceparent })).body.result));
    assert.match(got.traceparent, new RegExp(`^00-${client.traceId}-(?!${client.spanId})[0-9a-f]{16}-00$`));
    const fresh = JSON.parse(textOf((await post(`${mux.publicUrl}/node/mcp`, call(2, 'trace_headers'))).body.result));
    assert.match(fresh.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'a trace that starts at mcpmux is not sampled');
    await mux.stop();
    assert.deepEqual(receiver.spansOf(client.traceId).filter((s) => s.serviceName === 'mcpmux'), []);
  });

  it("off: passes the client's traceparent to the server unchanged, and exports nothing", async () => {
    const receiver = await otlpReceiver();
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { node: fixtureServer('traced-server') } });
    await mux.waitReady(30_000);
    const client = makeTraceparent();
    const got = JSON.parse(textOf((await post(`${mux.publicUrl}/node/mcp`, call(1, 'trace_headers'), { traceparent: client.traceparent, tracestate: 'a=1' })).body.result));
    assert.equal(got.traceparent, client.traceparent);
    assert.equal(got.tracestate, 'a=1');
    await mux.stop();
    assert.deepEqual(receiver.spansOf(client.traceId), []);
  });

  it('serves as usual with its collector refusing, and counts the spans it could not export', async () => {
    const broken = await startStatusCollector(400);
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, tracing: { endpoint: broken.url }, servers: { node: fixtureServer('traced-server') } }, { env: FAST_EXPORT });
    await mux.waitReady(30_000);
    for (let i = 0; i < 5; i++) assert.equal((await post(`${mux.publicUrl}/node/mcp`, call(i, 'echo', { text: 'x' }))).status, 200);
    await waitFor(async () => (sampleValue(await scrape(mux.adminUrl), 'mcpmux_trace_spans_failed_total') ?? 0) >= 10, 'the failed spans to be counted');
    assert.ok(broken.requests() > 0);
    await mux.stop();
    await broken.stop();
  });

  it('flushes what it queued when it stops', async () => {
    const receiver = await otlpReceiver();
    // Nothing is exported before the stop: the batch would wait a minute.
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, tracing: { endpoint: receiver.url }, servers: { node: fixtureServer('traced-server') } }, { env: { OTEL_BSP_SCHEDULE_DELAY: '60000' } });
    await mux.waitReady(30_000);
    const client = makeTraceparent();
    assert.equal((await post(`${mux.publicUrl}/node/mcp`, call(1, 'echo', { text: 'x' }), { traceparent: client.traceparent })).status, 200);
    assert.deepEqual(receiver.spansOf(client.traceId).filter((s) => s.serviceName === 'mcpmux'), []);
    await mux.stop();
    // The receiver runs in this process: what the stop flushed is in by now, or very soon after.
    await receiver.waitForSpans(() => receiver.spansOf(client.traceId).filter((s) => s.serviceName === 'mcpmux').length === 2, 'both spans, flushed by the stop', 5_000);
  });
});
