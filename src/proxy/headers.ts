/**
 * What changes in headers on the way through: hop-by-hop headers (RFC 9110 7.6.1) and the ones
 * named in `Connection` are removed in both directions; `X-Forwarded-*` are set on the way in.
 * Every other header passes untouched: Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID,
 * Authorization and the rest.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names listed in a Connection header value, lower-cased. */
function connectionTokens(value: string | string[] | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean);
}

/**
 * Rewrites an inbound request's headers in place for forwarding. The caller's own
 * `X-Forwarded-*` values are replaced, not appended to: they are not trusted.
 */
export function prepareRequestHeaders(req: IncomingMessage, prefix: string): void {
  const headers: IncomingHttpHeaders = req.headers;
  const chunked = headers['transfer-encoding'] !== undefined;
  for (const token of connectionTokens(headers.connection)) delete headers[token];
  for (const name of HOP_BY_HOP) delete headers[name];
  // Node hands over the body de-chunked; a body without Content-Length is chunked again on the
  // way out, whatever the method, so it can never run unframed into the next pooled request.
  if (chunked) headers['transfer-encoding'] = 'chunked';
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-host'] = headers.host ?? '';
  if (prefix === '/') delete headers['x-forwarded-prefix'];
  else headers['x-forwarded-prefix'] = prefix;
}

/**
 * A child's response headers, as a flat raw list (case and repeats kept, e.g. several
 * Set-Cookie), without hop-by-hop headers.
 */
export function filterResponseHeaders(rawHeaders: readonly string[], connection: string | string[] | undefined): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named.length > 0 && named.includes(lower))) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  return out;
}
