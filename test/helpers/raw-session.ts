/**
 * A raw MCP session over fetch, from a chosen source address: the requests an attacker sends
 * (sessions that are never deleted, GET streams never read, calls that never answer) without an
 * SDK client's manners.
 */
import { initializeBody, MCP_HEADERS } from './mcp-client.js';

export interface RawSession {
  readonly id: string;
  /** A JSON-RPC request on the session; resolves once the answer's headers are in (its body may never end). */
  post(body: unknown): Promise<Response>;
  /** Opens the session's GET stream; resolves once its headers are in. Its body is never read unless the caller does. */
  openStream(): Promise<Response>;
  delete(): Promise<void>;
}

/** The answer to an initialize that opened no session: its status and text. */
export class Refused extends Error {
  constructor(readonly status: number, readonly body: string, readonly retryAfter: string | null) {
    super(`initialize refused with ${status}: ${body}`);
  }
}

export async function openRawSession(url: string, fetchFn: typeof fetch = fetch): Promise<RawSession> {
  const res = await fetchFn(url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
  const text = await res.text();
  const id = res.headers.get('mcp-session-id');
  if (res.status !== 200 || !id) throw new Refused(res.status, text, res.headers.get('retry-after'));
  const headers = { ...MCP_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
  await (await fetchFn(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).arrayBuffer();
  let next = 100;
  return {
    id,
    post: (body) => fetchFn(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: next++, ...(body as object) }) }),
    openStream: () => fetchFn(url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' } }),
    async delete() {
      await (await fetchFn(url, { method: 'DELETE', headers })).arrayBuffer().catch(() => undefined);
    },
  };
}

/** Opens a session, waiting out 429s (the per-client rate) as a patient attacker would. */
export async function openPatiently(url: string, fetchFn: typeof fetch, timeoutMs = 30_000): Promise<RawSession> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await openRawSession(url, fetchFn);
    } catch (error) {
      if (!(error instanceof Refused) || error.status !== 429 || Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, Number(error.retryAfter ?? 1) * 1000));
    }
  }
}
