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
import { readTraceContext, type MakeTraceState } from './trace-context.js';

/** What the spans are made with: the tracer, the W3C propagator and tracestate (start.ts's Tracing has them). */
export interface RequestTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly makeTraceState: MakeTraceState;
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

/** `_meta` holds anything: only a string is a trace context value. */
function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Starts the SERVER span of a request and the CLIENT span of its hop to the process. An unsampled
 * request (most, at a low ratio) pays for the context only: attributes are made for recorded spans.
 */
export function startRequestSpans(tracing: RequestTracing, facts: RequestFacts): RequestSpans {
  const { tracer, makeTraceState } = tracing;
  const headerSpan = readTraceContext(facts.headers.traceparent, facts.headers.tracestate, makeTraceState);
  const meta = facts.meta;
  const metaSpan = meta === undefined ? undefined : readTraceContext(textOf(meta.traceparent), textOf(meta.tracestate), makeTraceState);
  const remote = metaSpan ?? headerSpan;
  const parent: Context = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
  const link = metaSpan && headerSpan;
  const name = spanName(facts);
  const server = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: facts.startTime, ...(link && { links: [{ context: link }] as Link[] }) }, parent);
  const serverContext = trace.setSpan(parent, server);
  const client = tracer.startSpan(name, { kind: SpanKind.CLIENT }, serverContext);
  const recording = server.isRecording();
  if (recording) {
    // What repeats request after request as a group, then what differs, one by one: no attribute object is built to be copied.
    const groups = attributeGroups(facts);
    server.setAttributes(groups.server);
    client.setAttributes(groups.client);
    const details = facts.details();
    setRequestAttributes(server, facts, details.id);
    if (details.clientAddress !== undefined) server.setAttribute('client.address', details.clientAddress);
    if (details.clientPort !== undefined) server.setAttribute('client.port', details.clientPort);
    setRequestAttributes(client, facts, details.id);
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

/** What a span's attributes repeat request after request: per server, call, tool, wire and process. */
interface AttributeGroups {
  readonly server: Readonly<Record<string, string | number>>;
  readonly client: Readonly<Record<string, string | number>>;
}

/**
 * The groups kept, frozen, so that the same objects come back (recorded-span.ts checks a group
 * once and otlp-encoding.ts encodes it once). Bounded in number and size: past that, groups are
 * made for the request.
 */
const GROUPS = new Map<string, AttributeGroups>();
const MAX_GROUPS = 1024;
/** A tool name or resource URI is the client's to choose: a long one is not kept. */
const MAX_KEY_LENGTH = 512;

function attributeGroups(facts: RequestFacts): AttributeGroups {
  const call = facts.call;
  const key = `${facts.server}\n${call?.method}\n${call?.name}\n${call?.protocol}\n${facts.httpMethod}\n${facts.httpVersion}\n${facts.childAddress}\n${facts.childPort}`;
  const known = GROUPS.get(key);
  if (known !== undefined) return known;
  const mcp = mcpAttributes(facts);
  const server = { ...mcp, 'network.transport': 'tcp', 'network.protocol.name': 'http', 'network.protocol.version': facts.httpVersion, 'http.request.method': facts.httpMethod };
  const client = { ...mcp, 'network.transport': 'tcp', 'server.address': facts.childAddress, 'server.port': facts.childPort };
  // Only a group that is kept is frozen: one made for a single request is set attribute by attribute.
  if (GROUPS.size >= MAX_GROUPS || key.length > MAX_KEY_LENGTH) return { server, client };
  const groups = { server: Object.freeze(server), client: Object.freeze(client) };
  GROUPS.set(key, groups);
  return groups;
}

/** The MCP conventions' attributes of the call, the same on both spans. */
function mcpAttributes(facts: RequestFacts): Record<string, string> {
  const call = facts.call;
  const attributes: Record<string, string> = { 'mcp.server.name': facts.server };
  if (!call) return attributes;
  attributes['mcp.method.name'] = call.method;
  if (call.method === 'tools/call') {
    attributes['gen_ai.operation.name'] = 'execute_tool';
    if (call.name !== undefined) attributes['gen_ai.tool.name'] = call.name;
  } else if (call.method === 'prompts/get' && call.name !== undefined) attributes['gen_ai.prompt.name'] = call.name;
  else if (call.method === 'resources/read' && call.name !== undefined) attributes['mcp.resource.uri'] = call.name;
  if (call.protocol !== undefined) attributes['mcp.protocol.version'] = call.protocol;
  return attributes;
}

/** The MCP conventions' attributes of this request, the same on both spans. */
function setRequestAttributes(span: Span, facts: RequestFacts, id: string | number | undefined): void {
  if (id !== undefined) span.setAttribute('jsonrpc.request.id', String(id));
  // Sessions are the 2025 wire's: a 2026-07-28 request carries none.
  const session = facts.headers['mcp-session-id'];
  if (typeof session === 'string') span.setAttribute('mcp.session.id', session);
}
