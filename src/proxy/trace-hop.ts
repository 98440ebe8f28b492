/**
 * The proxy's hook into tracing (tracing/), when it is on: at the hop, the request's spans are
 * started and the process's request gets the hop's trace context (in headers built without the
 * client's, and in `_meta` when the client put one there); when the request is done, the spans
 * end with what it came to.
 */
import type { IncomingMessage } from 'node:http';
import { readBodyContext, readRequestId } from '../tracing/body-context.js';
import { endRequestSpans, startRequestSpans, type RequestEnd, type RequestTracing } from '../tracing/request-spans.js';
import { CHILD_HOST, type Endpoint } from '../routing/endpoint.js';
import { identifyClient } from './client-identity.js';
import type { RequestState } from './request-state.js';

/** What the process gets of the hop's context, in place of the client's: left out of the headers built for it. */
export const TRACE_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate']);

/** A body without this names no `_meta`: it is not parsed for a trace context. */
const META = Buffer.from('"_meta"');

/**
 * Starts the spans of a request about to go to `endpoint`, and puts the hop's trace context in
 * `headers` (built without the client's traceparent and tracestate: TRACE_HEADERS). Returns the
 * body the process gets: `body` itself, or a copy whose `_meta` carries the hop's context.
 */
export function traceHop(tracing: RequestTracing, req: IncomingMessage, state: RequestState, endpoint: Endpoint, headers: string[], body: Buffer | undefined, isTrusted: (address: string | undefined) => boolean): Buffer | undefined {
  // A body is parsed when it may carry a trace context; a recorded span's id is otherwise scanned for.
  const context = body !== undefined && body.includes(META) ? readBodyContext(body) : undefined;
  const spans = startRequestSpans(tracing, {
    server: state.server,
    httpMethod: req.method ?? '',
    httpVersion: req.httpVersion,
    headers: req.headers,
    meta: context?.message?.meta,
    call: state.mcp,
    details: () => {
      // The id only, unless the body was parsed for its `_meta`.
      const id = context ? context.message?.id : body === undefined ? undefined : readRequestId(body);
      return { id, clientAddress: identifyClient(req, isTrusted), clientPort: req.socket.remotePort };
    },
    childAddress: CHILD_HOST,
    childPort: endpoint.port,
    startTime: state.startedAt ?? performance.now(),
  });
  state.spans = spans;
  // The client's own were left out (TRACE_HEADERS); its baggage passes on.
  for (const name in spans.childHeaders) headers.push(name, spans.childHeaders[name]!);
  return context?.rewrite(spans.childHeaders) ?? body;
}

/** Ends a traced request's spans (once). */
export function endTrace(state: RequestState, end: RequestEnd): void {
  const spans = state.spans;
  if (!spans) return;
  state.spans = undefined;
  endRequestSpans(spans, end);
}
