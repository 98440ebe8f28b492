/**
 * What changes in headers on the way through: hop-by-hop headers (RFC 9110 7.6.1) and the ones
 * named in `Connection` are removed in both directions; `X-Forwarded-*` are set on the way in.
 * Every other header passes untouched: Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID,
 * Authorization and the rest.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

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

/** Headers that frame or address the request: never dropped because `Connection` names them. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'host']);

/** Names listed in a Connection header value, lower-cased. */
function connectionTokens(value: string | string[] | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean);
}

export interface ForwardingPolicy {
  /** The peer is a trusted proxy: its X-Forwarded-* are kept and appended to. */
  readonly trusted: boolean;
  /** Pass the client's Authorization header on to the child. */
  readonly forwardAuthorization: boolean;
}

/**
 * Rewrites an inbound request's headers in place for forwarding. From an untrusted peer, the
 * caller's own `X-Forwarded-*` and `Forwarded` are replaced, never appended to.
 */
export function prepareRequestHeaders(req: IncomingMessage, prefix: string, policy: ForwardingPolicy): void {
  const headers: IncomingHttpHeaders = req.headers;
  const chunked = headers['transfer-encoding'] !== undefined;
  for (const token of connectionTokens(headers.connection)) if (!FRAMING.has(token)) delete headers[token];
  for (const name of HOP_BY_HOP) delete headers[name];
  // The client already got its 100 Continue from Node; the engine skips its hooks for Expect.
  delete headers.expect;
  // Node hands over the body de-chunked; a body without Content-Length is chunked again on the
  // way out, whatever the method, so it can never run unframed into the next pooled request.
  if (chunked) headers['transfer-encoding'] = 'chunked';
  if (!policy.forwardAuthorization) delete headers.authorization;
  const peer = req.socket.remoteAddress ?? '';
  const ownPrefix = prefix === '/' ? '' : prefix;
  if (policy.trusted) {
    const forwardedFor = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${peer}` : peer;
    headers['x-forwarded-proto'] ??= 'http';
    headers['x-forwarded-host'] ??= headers.host ?? '';
    const inbound = headers['x-forwarded-prefix'];
    headers['x-forwarded-prefix'] = `${typeof inbound === 'string' ? inbound.replace(/\/$/, '') : ''}${ownPrefix}`;
  } else {
    delete headers.forwarded;
    delete headers['x-real-ip'];
    delete headers['x-forwarded-port'];
    headers['x-forwarded-for'] = peer;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-host'] = headers.host ?? '';
    headers['x-forwarded-prefix'] = ownPrefix;
  }
  if (!headers['x-forwarded-prefix']) delete headers['x-forwarded-prefix'];
}

/** A matcher for `listen.trustedProxies` (IPs and CIDRs); IPv4-mapped IPv6 peers match IPv4 entries. */
export function createTrustCheck(entries: readonly string[]): (address: string | undefined) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    return isIP(v4) === 4 ? list.check(v4, 'ipv4') : list.check(address, 'ipv6');
  };
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
