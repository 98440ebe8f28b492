/**
 * The MAC that sealed session ids (seal.ts) and loop marks (mark.ts) carry: HMAC-SHA256 of a
 * message under one key, cut to 128 bits, as 22 characters of base64url; a MAC a request brings is
 * compared with the right one as text (one spelling each), in constant time.
 *
 * Every request of a session brings the same id, so the MAC of a message already made here or
 * already checked out is remembered (at most MAX_KNOWN, the oldest forgotten first) and compared
 * with instead of being computed again: one HMAC costs a tools/call about as much as the rest of
 * the cluster's work on it. Only MACs that are right are remembered, so a forged id is computed
 * and refused each time, as before, and costs no memory; the lookup is keyed by the message alone,
 * which the request names anyway, never by the MAC it brings.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 16;
export const MAC_CHARS = 22;
/** Messages whose MAC is remembered, per key: far past the sessions a pod serves at once. */
export const MAX_KNOWN = 4096;

export interface Mac {
  /** The MAC of `message`. */
  of(message: string): string;
  /** True when `given` is the MAC of `message`. */
  verifies(given: string, message: string): boolean;
}

/** The MAC under `key` (a key derived for one use: seal.ts's deriveKey). */
export function createMac(key: Buffer): Mac {
  const known = new Map<string, string>();
  const remember = (message: string, mac: string) => {
    if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value!);
    known.set(message, mac);
  };
  const compute = (message: string) => createHmac('sha256', key).update(message).digest().toString('base64url', 0, MAC_BYTES);
  return {
    of(message) {
      let mac = known.get(message);
      if (mac === undefined) remember(message, (mac = compute(message)));
      return mac;
    },
    verifies(given, message) {
      if (given.length !== MAC_CHARS) return false;
      const remembered = known.get(message);
      const right = remembered ?? compute(message);
      if (!sameText(given, right)) return false;
      if (remembered === undefined) remember(message, right);
      return true;
    },
  };
}

/** Two buffers for comparing MACs as text: written and compared at once, never held. */
const GIVEN = Buffer.alloc(MAC_CHARS);
const RIGHT = Buffer.alloc(MAC_CHARS);

/** Two MACs of MAC_CHARS characters the same, compared in constant time, as latin1 bytes (as headers are read). */
function sameText(given: string, right: string): boolean {
  GIVEN.write(given, 'latin1');
  RIGHT.write(right, 'latin1');
  return timingSafeEqual(GIVEN, RIGHT);
}
