/**
 * The spans of one proxied request, per OpenTelemetry's MCP conventions: a SERVER span for the
 * request as mcpmux received it, and a CLIENT span, its child, for the hop to the process. The
 * process gets the CLIENT span's `traceparent` (and `tracestate`), never the client's own, so
 * that its spans are children of mcpmux's and not their siblings; `baggage` passes as it came
 * (header and `_meta` alike).
 *
 * The SERVER span's parent is the client's `params._meta.traceparent` (SEP-414) when the body
 * has one, else the HTTP `traceparent` header; with both, the header's span is a link. A client's
 * `_meta.traceparent` is rewritten to the CLIENT span's too (the body is then serialised again;
 * without one, the body passes byte for byte).
 *
 * Only @opentelemetry/api is used here: the SDK behind the tracer is loaded by start.ts, and only
 * when tracing is on.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type SpanContext, type TextMapGetter, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { McpCall } from '../events.js';

/** What the spans are made with: the tracer and the W3C propagator (start.ts's Tracing has both). */
export interface RequestTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
}

/** What the proxy knows of a request when it is about to forward it. */
export interface RequestFacts {
  /** mcpmux's name for the server. */
  readonly server: string;
  readonly httpMethod: string;
  readonly httpVersion: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The `_meta` of a POST's JSON-RPC message (the first of a batch), when it has one. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  readonly call: McpCall | undefined;
  /** What only a recorded span needs, asked for only then: the request id, and who the client is. */
  readonly details: () => RequestDetails;
  /** The process's address. */
  readonly childAddress: string;
  readonly childPort: number;
  /** When the request arrived (ms since the epoch). */
  readonly startTime: number;
}

export interface RequestDetails {
  readonly id: string | number | undefined;
  readonly clientAddress: string | undefined;
  readonly clientPort: number | undefined;
}

/** What a JSON-RPC request's body says that the spans use. */
export interface JsonRpcFacts {
  readonly id: string | number | undefined;
  /** `params._meta` as an object of strings (the trace context keys), if it has any. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
}

/** How the request ended, for both spans. */
export interface RequestEnd {
  /** The HTTP status answered (0: none). */
  readonly status: number;
  /** A JSON-RPC error code as text, `tool_error`, `_OTHER`, or '' / undefined when none. */
  readonly mcpError: string | undefined;
  /** The client left before its answer was complete. */
  readonly aborted: boolean;
}

export interface RequestSpans {
  /** The trace context headers the process gets: the CLIENT span's. */
  readonly childHeaders: Readonly<Record<string, string>>;
  /** The trace id of the SERVER span, when it is sampled (for exemplars). */
  readonly sampledTraceId: string | undefined;
  readonly server: Span;
  readonly client: Span;
}

const headerGetter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};
/** `_meta` holds anything: only a string is a trace context value. */
const metaGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
  keys: (carrier) => Object.keys(carrier),
};

/**
 * Starts the SERVER span of a request and the CLIENT span of its hop to the process. An unsampled
 * request (most, at a low ratio) pays for the context only: attributes are made for recorded spans.
 */
export function startRequestSpans(tracing: RequestTracing, facts: RequestFacts): RequestSpans {
  const { tracer, propagator } = tracing;
  const fromHeader = propagator.extract(ROOT_CONTEXT, facts.headers, headerGetter);
  const meta = facts.meta;
  const fromMeta = meta === undefined ? undefined : propagator.extract(ROOT_CONTEXT, meta, metaGetter);
  const metaSpan = fromMeta && trace.getSpanContext(fromMeta);
  const parent: Context = metaSpan ? fromMeta! : fromHeader;
  const headerSpan = metaSpan && trace.getSpanContext(fromHeader);
  const name = spanName(facts);
  const server = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: facts.startTime, ...(headerSpan && { links: [{ context: headerSpan }] as Link[] }) }, parent);
  const serverContext = trace.setSpan(parent, server);
  const client = tracer.startSpan(name, { kind: SpanKind.CLIENT }, serverContext);
  const recording = server.isRecording();
  if (recording) {
    // Set one by one: no attribute object is built to be copied.
    const details = facts.details();
    setMcpAttributes(server, facts, details.id);
    server.setAttribute('network.transport', 'tcp');
    server.setAttribute('network.protocol.name', 'http');
    server.setAttribute('network.protocol.version', facts.httpVersion);
    server.setAttribute('http.request.method', facts.httpMethod);
    if (details.clientAddress !== undefined) server.setAttribute('client.address', details.clientAddress);
    if (details.clientPort !== undefined) server.setAttribute('client.port', details.clientPort);
    setMcpAttributes(client, facts, details.id);
    client.setAttribute('network.transport', 'tcp');
    client.setAttribute('server.address', facts.childAddress);
    client.setAttribute('server.port', facts.childPort);
  }
  return { childHeaders: hopHeaders(client.spanContext()), sampledTraceId: recording ? server.spanContext().traceId : undefined, server, client };
}

/**
 * The W3C Trace Context headers of the CLIENT span, as the W3C propagator writes them (version 00,
 * the trace flags, the parent's tracestate), without a context made to carry it there. Baggage is
 * not among them: the client's passes on as it came.
 */
function hopHeaders(context: SpanContext): Record<string, string> {
  const flags = context.traceFlags & 0xff;
  const traceparent = `00-${context.traceId}-${context.spanId}-${flags < 16 ? '0' : ''}${flags.toString(16)}`;
  const tracestate = context.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** Ends both spans with what the request came to. */
export function endRequestSpans(spans: RequestSpans, end: RequestEnd): void {
  const { server, client } = spans;
  // What the call came to, else a 5xx (mcpmux's own, or the process's); a client that left is not a failure of the server.
  const failed = end.mcpError ? end.mcpError : end.status >= 500 ? String(end.status) : undefined;
  for (const span of [client, server]) {
    if (!span.isRecording()) {
      span.end();
      continue;
    }
    if (end.status !== 0) span.setAttribute('http.response.status_code', end.status);
    if (failed !== undefined) {
      span.setAttribute('error.type', failed);
      if (end.mcpError && /^-?\d+$/.test(end.mcpError)) span.setAttribute('rpc.response.status_code', end.mcpError);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** `{mcp.method.name} {tool or prompt}`, `{mcp.method.name}`, or the HTTP method for what is not an MCP call (a GET stream, a DELETE). */
function spanName(facts: RequestFacts): string {
  const call = facts.call;
  if (!call) return facts.httpMethod;
  const named = call.method === 'tools/call' || call.method === 'prompts/get';
  return named && call.name !== undefined ? `${call.method} ${call.name}` : call.method;
}

/** The MCP conventions' attributes, the same on both spans. */
function setMcpAttributes(span: Span, facts: RequestFacts, id: string | number | undefined): void {
  const { call, headers } = facts;
  span.setAttribute('mcp.server.name', facts.server);
  if (call) {
    span.setAttribute('mcp.method.name', call.method);
    if (call.method === 'tools/call') {
      span.setAttribute('gen_ai.operation.name', 'execute_tool');
      if (call.name !== undefined) span.setAttribute('gen_ai.tool.name', call.name);
    } else if (call.method === 'prompts/get' && call.name !== undefined) span.setAttribute('gen_ai.prompt.name', call.name);
    else if (call.method === 'resources/read' && call.name !== undefined) span.setAttribute('mcp.resource.uri', call.name);
    if (call.protocol !== undefined) span.setAttribute('mcp.protocol.version', call.protocol);
  }
  if (id !== undefined) span.setAttribute('jsonrpc.request.id', String(id));
  // Sessions are the 2025 wire's: a 2026-07-28 request carries none.
  const session = headers['mcp-session-id'];
  if (typeof session === 'string') span.setAttribute('mcp.session.id', session);
}
