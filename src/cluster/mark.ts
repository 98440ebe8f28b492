/**
 * The loop mark: a request one pod relays to a session's owner carries `Mcpmux-Peer`, a MAC over
 * the session id and the time, made with the cluster's key. The owner, seeing a valid mark:
 * - never relays the request again (no loops, whatever two pods believe about each other);
 * - believes the relaying pod's `X-Forwarded-*`, so that it admits the request as if the client
 *   had come to it directly (per-client limits, the address in its access log).
 * A client's own `Mcpmux-Peer` is only a header that fails the check: the request is then treated
 * as any other, and a relaying pod always replaces it.
 *
 *     Mcpmux-Peer: <unix seconds>.<mac, 22 characters of base64url>
 *
 * A mark is good for MARK_WINDOW_SECONDS either side of its time, and for that session only.
 */
import { createMac, MAC_CHARS } from './mac.js';
import { deriveKey } from './seal.js';

export const PEER_HEADER = 'mcpmux-peer';
export const MARK_WINDOW_SECONDS = 60;
/** A mark is short; a longer header is refused unread. */
const MAX_MARK_LENGTH = 40;
const SECONDS = /^\d{1,12}$/;

export interface PeerMark {
  /** The mark for a request of session `session` (the id as the client sent it), at `nowSeconds`. */
  stamp(session: string, nowSeconds: number): string;
  /** True when `mark` was made with one of the keys for this session, within the window of `nowSeconds`. */
  check(mark: string, session: string, nowSeconds: number): boolean;
}

export function createPeerMark(keys: readonly string[]): PeerMark {
  const macs = keys.map((key) => createMac(deriveKey(key, 'mcpmux peer mark v1')));
  return {
    stamp(session, nowSeconds) {
      const time = String(Math.floor(nowSeconds));
      return `${time}.${macs[0]!.of(`${time}\n${session}`)}`;
    },
    check(mark, session, nowSeconds) {
      if (mark.length > MAX_MARK_LENGTH) return false;
      const dot = mark.indexOf('.');
      if (dot <= 0) return false;
      const time = mark.slice(0, dot);
      if (!SECONDS.test(time) || Math.abs(Number(time) - nowSeconds) > MARK_WINDOW_SECONDS) return false;
      // Compared as text, as seal.ts does (mac.ts): one spelling per mark.
      const given = mark.slice(dot + 1);
      if (given.length !== MAC_CHARS) return false;
      const signed = `${time}\n${session}`;
      for (const mac of macs) if (mac.verifies(given, signed)) return true;
      return false;
    },
  };
}
