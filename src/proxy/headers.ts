/**
 * What changes in headers on the way through: hop-by-hop headers (RFC 9110 7.6.1) and the ones
 * named in `Connection` are removed in both directions; `X-Forwarded-*` are set on the way in.
 * Every other header passes untouched: Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID,
 * Authorization and the rest.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PEER_HEADER } from '../cluster/mark.js';
import { CLIENT_HEADER } from './client-identity.js';

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
  /** Who the request is from (client-identity.ts), sent as `Mcpmux-Client`: for a stdio server's bridge. */
  readonly client?: string | undefined;
  /** More names (lower-case) left out: what the caller sets itself (a traced request's trace context). */
  readonly omit?: ReadonlySet<string> | undefined;
  /** The body was read whole: its framing is left out, for the caller's Content-Length (pushBodyLength). */
  readonly bodyRead?: boolean;
}

/** Dropped from every forwarded request: mcpmux sets these itself, or they belong to this hop. */
const REPLACED = new Set([...HOP_BY_HOP, 'host', 'origin', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix', CLIENT_HEADER, PEER_HEADER]);
/** Dropped from an untrusted peer's request: claims about hops before it that mcpmux cannot check. */
const UNTRUSTED_CLAIMS = new Set(['forwarded', 'x-real-ip', 'x-forwarded-port']);
/**
 * Headers sent once, as Node's parser reads them: the value mcpmux checked (the first
 * Authorization, say) is the only one the child gets, and repeated Cookie lines go out joined
 * with "; " (RFC 6265 5.4). A bit each, so that no set is allocated per request.
 */
const ONCE = new Map(
  ['authorization', 'content-type', 'content-length', 'user-agent', 'referer', 'if-modified-since', 'if-unmodified-since', 'from', 'max-forwards', 'cookie'].map((name, i) => [name, 1 << i]),
);
/** REPLACED, with the names a caller omits and, for a body read whole, its framing: made once per omitted set. */
const DROPPED = new WeakMap<ReadonlySet<string>, { plain: ReadonlySet<string>; bodyRead: ReadonlySet<string> }>();
const DROPPED_BODY_READ = new Set([...REPLACED, 'content-length', 'transfer-encoding']);

function droppedNames(policy: ForwardingPolicy): ReadonlySet<string> {
  const omit = policy.omit;
  if (omit === undefined) return policy.bodyRead ? DROPPED_BODY_READ : REPLACED;
  let sets = DROPPED.get(omit);
  if (sets === undefined) DROPPED.set(omit, (sets = { plain: new Set([...REPLACED, ...omit]), bodyRead: new Set([...DROPPED_BODY_READ, ...omit]) }));
  return policy.bodyRead ? sets.bodyRead : sets.plain;
}

/** Methods Node sends without a body by default; any other bodiless request says Content-Length: 0. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/**
 * The headers a request goes to its child with, as a flat raw list in the client's order and
 * case: hop-by-hop and Connection-named headers removed; `Host` set to the child; X-Forwarded-*
 * set, and from an untrusted peer its own `X-Forwarded-*` and `Forwarded` replaced, never
 * appended to. `Mcpmux-Client` is mcpmux's alone: a client's is always dropped. A raw list goes out as it is; an object would be copied header by header.
 *
 * An `Origin` goes on as the child's own loopback origin (`http://127.0.0.1:PORT`), as `Host`
 * does: mcpmux's guard has already checked the public one against listen.allowedOrigins, and the
 * child's own DNS-rebinding guard (the MCP SDKs' accept loopback origins only) must not undo that
 * decision. A request without Origin (not from a browser) still goes without one.
 */
export function buildRequestHeaders(req: IncomingMessage, prefix: string, host: string, policy: ForwardingPolicy): string[] {
  const headers: IncomingHttpHeaders = req.headers;
  const raw = req.rawHeaders;
  const named = headers.connection === undefined ? undefined : connectionTokens(headers.connection).filter((token) => !FRAMING.has(token));
  const out = headers.origin === undefined ? ['Host', host] : ['Host', host, 'Origin', `http://${host}`];
  const dropped = droppedNames(policy);
  let sent = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (dropped.has(lower) || named?.includes(lower)) continue;
    if (lower === 'authorization' && !policy.forwardAuthorization) continue;
    if (!policy.trusted && UNTRUSTED_CLAIMS.has(lower)) continue;
    const once = ONCE.get(lower);
    if (once === undefined) out.push(name, raw[i + 1]!);
    else if (!(sent & once)) {
      sent |= once;
      out.push(name, headers[lower] as string);
    }
  }
  // A body read whole: the caller says its length. Otherwise Node hands over the body de-chunked,
  // and a body without Content-Length is chunked again on the way out, whatever the method, so it
  // can never run unframed into the next pooled request.
  if (!policy.bodyRead) {
    if (headers['transfer-encoding'] !== undefined) out.push('Transfer-Encoding', 'chunked');
    // A request without a body says so, where Node would otherwise send an empty chunked one.
    else if (headers['content-length'] === undefined && !BODYLESS_METHODS.has(req.method ?? 'GET')) out.push('Content-Length', '0');
  }
  const peer = req.socket.remoteAddress ?? '';
  const ownPrefix = prefix === '/' ? '' : prefix;
  let forwardedPrefix = ownPrefix;
  if (policy.trusted) {
    const forwardedFor = headers['x-forwarded-for'];
    const inbound = headers['x-forwarded-prefix'];
    forwardedPrefix = `${typeof inbound === 'string' ? inbound.replace(/\/$/, '') : ''}${ownPrefix}`;
    out.push(
      'X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${peer}` : peer,
      'X-Forwarded-Proto', first(headers['x-forwarded-proto']) ?? 'http',
      'X-Forwarded-Host', first(headers['x-forwarded-host']) ?? headers.host ?? '',
    );
  } else {
    out.push('X-Forwarded-For', peer, 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', headers.host ?? '');
  }
  if (forwardedPrefix) out.push('X-Forwarded-Prefix', forwardedPrefix);
  if (policy.client !== undefined) out.push('Mcpmux-Client', policy.client);
  return out;
}

/**
 * Tells the child who called (forwardIdentity): each configured header set from the caller's
 * claim, after every copy the client sent is removed. A claim the token lacks, or one with no plain
 * value, sends no header; a list is joined with ", "; a value with a control character is dropped.
 */
export function setIdentityHeaders(headers: string[], identity: readonly (readonly [string, string])[], caller: { readonly claims: Readonly<Record<string, unknown>> } | undefined): void {
  for (const [header] of identity) removeHeader(headers, header.toLowerCase());
  if (!caller) return;
  for (const [header, claim] of identity) {
    const value = claimText(caller.claims[claim]);
    if (value !== undefined) headers.push(header, value);
  }
}

function claimText(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value
    : typeof value === 'number' || typeof value === 'boolean' ? String(value)
    : Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number') ? value.join(', ')
    : undefined;
  // Header values travel as visible ASCII and spaces: anything else (a newline above all) sends nothing.
  return text !== undefined && text.length <= 4096 && /^[\x20-\x7e]*$/.test(text) ? text : undefined;
}

/** The length of a body read whole, in headers built with `bodyRead` (the client's framing left out). */
export function pushBodyLength(headers: string[], length: number): void {
  headers.push('Content-Length', String(length));
}

/** Removes every header of this (lower-case) name from a flat raw list. */
export function removeHeader(headers: string[], lower: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === lower) headers.splice(i, 2);
}

/** Dropped from a request relayed to a session's owner pod: this hop's own, and the claims the relay sets. */
const PEER_REPLACED = new Set([...HOP_BY_HOP, 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', CLIENT_HEADER, PEER_HEADER]);

/**
 * The headers a request goes to its session's owner pod with (cluster/): everything the client
 * sent (Host, Origin, Authorization and Mcp-Session-Id as they were, for the owner's own
 * admission), less hop-by-hop headers; X-Forwarded-* as for a child (appended to from a trusted
 * peer, else set anew); and `Mcpmux-Peer`, the mark that makes the owner believe them and never
 * relay the request again.
 */
export function buildPeerHeaders(req: IncomingMessage, mark: string, trusted: boolean): string[] {
  const headers: IncomingHttpHeaders = req.headers;
  const raw = req.rawHeaders;
  const named = headers.connection === undefined ? undefined : connectionTokens(headers.connection).filter((token) => !FRAMING.has(token));
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (PEER_REPLACED.has(lower) || named?.includes(lower)) continue;
    if (!trusted && (UNTRUSTED_CLAIMS.has(lower) || lower === 'x-forwarded-prefix')) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (headers['transfer-encoding'] !== undefined) out.push('Transfer-Encoding', 'chunked');
  else if (headers['content-length'] === undefined && !BODYLESS_METHODS.has(req.method ?? 'GET')) out.push('Content-Length', '0');
  const peer = req.socket.remoteAddress ?? '';
  const forwardedFor = trusted ? headers['x-forwarded-for'] : undefined;
  out.push(
    'X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${peer}` : peer,
    'X-Forwarded-Proto', (trusted && first(headers['x-forwarded-proto'])) || 'http',
    'X-Forwarded-Host', (trusted && first(headers['x-forwarded-host'])) || headers.host || '',
    'Mcpmux-Peer', mark,
  );
  return out;
}

/** A raw header list as an object, repeats joined with ", " (for http-proxy-3, which reads one). */
export function toHeaderObject(raw: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]!}`;
  }
  return headers;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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
