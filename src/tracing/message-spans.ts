/**
 * The stdio bridge's spans: one per client request it passes down a process's stdin, a CLIENT span
 * in the trace mcpmux's hop started (the `traceparent` header mcpmux sent the bridge). A stdio
 * process has no headers, so the span's context goes into the request's `params._meta`
 * (`traceparent`, `tracestate`: SEP-414); every other `_meta` key stays as the client sent it. The
 * span ends with the request's answer.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter } from '@opentelemetry/api';
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { RequestTracing } from './request-spans.js';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** One client session's spans (request ids are the session's own). */
export interface MessageSpans {
  /** Starts the span of a client request; returns the request to send down stdio, its `_meta` carrying the span's context. */
  start(request: JSONRPCRequest, headers: Headers | undefined): JSONRPCRequest;
  /** Ends the span of the request `id` with its answer (or a refusal made here). */
  end(id: RequestId, answer: JSONRPCMessage): void;
  /** Ends every span still open: the session ended, or its process went away. */
  endAll(errorType: string): void;
}

const headerGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/**
 * The span of opening a stdio session, before its `initialize` goes down: a warm process taken, or
 * one started when none is warm (what a new session's first answer waits on). Ended by `done`.
 */
export function startSessionSpan(tracing: RequestTracing, server: string, headers: Headers): (error?: Error) => void {
  const parent = tracing.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  const span = tracing.tracer.startSpan('session start', { kind: SpanKind.INTERNAL, attributes: { 'mcp.server.name': server } }, parent);
  return (error) => {
    if (error && span.isRecording()) {
      span.setAttribute('error.type', 'no_process');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    span.end();
  };
}

/** A session's MessageSpans, for a bridge serving `server`. */
export function createMessageSpans(tracing: RequestTracing, server: string): MessageSpans {
  const { tracer, propagator } = tracing;
  const open = new Map<RequestId, Span>();
  return {
    start(request, headers) {
      const parent = headers === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      const params = (request.params ?? {}) as Record<string, unknown>;
      const name = typeof params.name === 'string' && (request.method === 'tools/call' || request.method === 'prompts/get') ? `${request.method} ${params.name}` : request.method;
      const span = tracer.startSpan(name, {
        kind: SpanKind.CLIENT,
        attributes: {
          'mcp.method.name': request.method,
          'mcp.server.name': server,
          'jsonrpc.request.id': String(request.id),
          'network.transport': 'pipe',
          ...(request.method === 'tools/call' && typeof params.name === 'string' && { 'gen_ai.tool.name': params.name, 'gen_ai.operation.name': 'execute_tool' }),
          ...(request.method === 'prompts/get' && typeof params.name === 'string' && { 'gen_ai.prompt.name': params.name }),
        },
      }, parent);
      open.get(request.id)?.end();
      open.set(request.id, span);
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(parent, span), carrier, { set: (c, key, value) => void (c[key] = value) });
      const meta = { ...(params._meta as Record<string, unknown> | undefined) };
      delete meta.traceparent;
      delete meta.tracestate;
      return { ...request, params: { ...params, _meta: { ...meta, ...carrier } } } as JSONRPCRequest;
    },
    end(id, answer) {
      const span = open.get(id);
      if (!span) return;
      open.delete(id);
      const errorType = errorTypeOf(answer);
      if (errorType !== undefined && span.isRecording()) {
        span.setAttribute('error.type', errorType);
        if (errorType !== 'tool_error') span.setAttribute('rpc.response.status_code', errorType);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
    endAll(errorType) {
      for (const span of open.values()) {
        if (span.isRecording()) {
          span.setAttribute('error.type', errorType);
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      }
      open.clear();
    },
  };
}

/** A JSON-RPC error's code, `tool_error` for a result with isError, else undefined. */
function errorTypeOf(answer: JSONRPCMessage): string | undefined {
  if ('error' in answer && typeof answer.error?.code === 'number') return String(answer.error.code);
  if ('result' in answer && (answer.result as { isError?: unknown } | undefined)?.isError === true) return 'tool_error';
  return undefined;
}
