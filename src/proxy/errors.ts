/**
 * The one place that decides what a client sees when mcpmux itself answers:
 * a JSON-RPC error body, as MCP clients expect from an MCP endpoint.
 */
import type { ServerResponse } from 'node:http';
import type { UpstreamErrorKind } from '../errors.js';

/** Seconds a client should wait before retrying a server that is not ready. */
export const RETRY_AFTER_SECONDS = 1;

export function sendJsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function sendNoRoute(res: ServerResponse): void {
  sendJsonRpcError(res, 404, 'No MCP server is mounted at this path');
}

export function sendBadPath(res: ServerResponse, reason: string): void {
  sendJsonRpcError(res, 400, `Bad request: ${reason}`, { connection: 'close' });
}

export function sendForbiddenHost(res: ServerResponse, what: 'Host' | 'Origin'): void {
  sendJsonRpcError(res, 403, `Forbidden: this ${what} is not allowed`);
}

export function sendUnauthorized(res: ServerResponse, challenge: string): void {
  sendJsonRpcError(res, 401, 'Unauthorized: a valid bearer token is required', { 'www-authenticate': challenge });
}

export function sendTooLarge(res: ServerResponse, limit: number): void {
  sendJsonRpcError(res, 413, `Request body larger than ${limit} bytes`);
}

export function sendHeadersTooLarge(res: ServerResponse): void {
  sendJsonRpcError(res, 431, 'Request header fields too large', { connection: 'close' });
}

export function sendUpgradeRefused(res: ServerResponse): void {
  sendJsonRpcError(res, 400, 'Bad request: Upgrade is not allowed on this route', { connection: 'close' });
}

export function sendBusy(res: ServerResponse, server: string): void {
  sendJsonRpcError(res, 503, `Server ${server} is at its limit of requests in flight`, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

export function sendNotReady(res: ServerResponse, server: string, state: string): void {
  sendJsonRpcError(res, 503, `Server ${server} is not ready (${state})`, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** Upstream trouble: 504 for a timeout, 502 otherwise. A response already under way is cut, never left hanging. */
export function sendUpstreamError(res: ServerResponse, server: string, kind: UpstreamErrorKind): void {
  if (kind === 'timeout') sendJsonRpcError(res, 504, `Server ${server} did not answer in time`);
  else sendJsonRpcError(res, 502, `Server ${server} could not be reached`);
}

/** RFC 9112 3.2: more than one Host line is a 400; which one a child would believe is anyone's guess. */
export function sendDuplicateHost(res: ServerResponse): void {
  sendJsonRpcError(res, 400, 'Bad request: more than one Host header', { connection: 'close' });
}
