/**
 * mcpmux's own answers: JSON bodies (the admin listener, the stdio bridge), and what a client sees
 * when mcpmux answers instead of a server: one catalogue of refusals, each with its HTTP status and
 * a stable JSON-RPC error code, shared by the proxy and the stdio bridge.
 *
 * The codes lie outside JSON-RPC's reserved range (-32768 to -32000), as the 2026-07-28 spec asks
 * of codes it does not define (basic/index, "Error Codes"): -32000 to -32019 are legacy codes with
 * no meaning a receiver may assume, and -32020 to -32099 belong to the spec alone. So no client can
 * take mcpmux's answer for a server's: it is never a recognised modern error (HeaderMismatch,
 * UnsupportedProtocolVersion), which a client would read as "this server speaks 2026-07-28", nor
 * -32601 "Method not found". `data.reason` names the refusal in words, and `data.server` the
 * server when there is one.
 */
import type { ServerResponse } from 'node:http';

export type RefusalReason =
  | 'no_route'
  | 'bad_request'
  | 'forbidden'
  | 'unauthorized'
  | 'body_too_large'
  | 'headers_too_large'
  | 'not_ready'
  | 'busy'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'process_gone'
  | 'sessions_full'
  | 'internal'
  | 'session_gone'
  | 'rate_limited'
  | 'client_sessions_full'
  | 'relay_loop'
  | 'insufficient_scope'
  | 'policy_denied'
  | 'auth_unavailable'
  | 'header_mismatch';

export interface Refusal {
  readonly status: number;
  readonly code: number;
}

/** Codes are stable: a new refusal takes the next number, and none is ever reused. */
export const REFUSALS: Readonly<Record<RefusalReason, Refusal>> = {
  no_route: { status: 404, code: -31001 },
  bad_request: { status: 400, code: -31002 },
  forbidden: { status: 403, code: -31003 },
  unauthorized: { status: 401, code: -31004 },
  body_too_large: { status: 413, code: -31005 },
  headers_too_large: { status: 431, code: -31006 },
  not_ready: { status: 503, code: -31007 },
  busy: { status: 503, code: -31008 },
  upstream_unreachable: { status: 502, code: -31009 },
  upstream_timeout: { status: 504, code: -31010 },
  process_gone: { status: 502, code: -31011 },
  sessions_full: { status: 503, code: -31012 },
  internal: { status: 500, code: -31013 },
  session_gone: { status: 404, code: -31014 },
  rate_limited: { status: 429, code: -31015 },
  client_sessions_full: { status: 429, code: -31016 },
  relay_loop: { status: 508, code: -31017 },
  insufficient_scope: { status: 403, code: -31018 },
  policy_denied: { status: 403, code: -31019 },
  auth_unavailable: { status: 503, code: -31020 },
  // The spec's own code (2026-07-28, HeaderMismatch): a Mcp-Method or Mcp-Name header that
  // disagrees with the body. The one refusal whose code a client must recognise as the spec's.
  header_mismatch: { status: 400, code: -32020 },
};

/** Set on a response mcpmux answered with a refusal: its code, for the metrics and the access log. */
export const REFUSAL_CODE = Symbol('mcpmux.refusalCode');

/** Seconds a client should wait before retrying a server that is not ready, or busy. */
export const RETRY_AFTER_SECONDS = 1;

/** A JSON body, never cached. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'application/json', JSON.stringify(value), headers);
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The JSON-RPC error a refusal is, for the body of an HTTP answer (`id` null: mcpmux answers
 * before reading the body) or inside a stream, as the answer to one request.
 */
export function describeRefusal(reason: RefusalReason, message: string, server?: string, id: string | number | null = null) {
  return { jsonrpc: '2.0' as const, id, error: { code: REFUSALS[reason].code, message, data: server === undefined ? { reason } : { reason, server } } };
}

/**
 * Answers with a refusal. A response already under way is cut instead: its client sees a reset,
 * never a hang. A 503 or 429 says when to retry (`retryAfterSeconds`, else RETRY_AFTER_SECONDS).
 */
export function sendRefusal(res: ServerResponse, reason: RefusalReason, message: string, options: { server?: string; headers?: Record<string, string>; retryAfterSeconds?: number; id?: string | number | null } = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status, code } = REFUSALS[reason];
  (res as ServerResponse & { [REFUSAL_CODE]?: number })[REFUSAL_CODE] = code;
  const headers = status === 503 || status === 429 ? { 'retry-after': String(options.retryAfterSeconds ?? RETRY_AFTER_SECONDS), ...options.headers } : options.headers;
  sendJson(res, status, describeRefusal(reason, message, options.server, options.id ?? null), headers);
}
