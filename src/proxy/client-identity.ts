/**
 * Who a request is from, for the limits kept per client (a stdio server's session slots and
 * session rate, the session affinity's share): the peer's address; behind a trusted proxy
 * (`listen.trustedProxies`), the right-most `X-Forwarded-For` address that is not itself a trusted
 * proxy, as nginx's `real_ip_recursive on` reads it. A peer that is not trusted cannot name
 * another client: its `X-Forwarded-For` is never read.
 *
 * The key goes to a stdio server's bridge as `Mcpmux-Client` (headers.ts drops any a client sent).
 */
import type { IncomingMessage } from 'node:http';

/** The header that carries the key to a bridge. */
export const CLIENT_HEADER = 'mcpmux-client';

/** X-Forwarded-For entries read at most, from the right: a longer chain names no more clients. */
const MAX_HOPS = 16;

export function identifyClient(req: IncomingMessage, isTrusted: (address: string | undefined) => boolean): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? '');
  if (!isTrusted(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : header ?? '').split(',');
  let client = peer;
  for (let i = chain.length - 1, hops = 0; i >= 0 && hops < MAX_HOPS; i--, hops++) {
    const address = normalizeAddress(chain[i]!.trim());
    if (address === '') continue;
    client = address;
    if (!isTrusted(address)) break;
  }
  return client;
}

/** `::ffff:10.0.0.1` as `10.0.0.1`: one client, one key, whichever socket family it came in on. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
