/**
 * Sealed session ids: the id a child minted, wrapped with the address of the pod that owns it and
 * a MAC, so that any pod can tell where a session lives and nobody without the key can name one.
 *
 *     m1_<owner>_<mac>_<inner>
 *
 * - `owner`: the owner pod's `cluster.advertiseAddress`, readable (`10.244.1.7:8080`,
 *   `[fd00::7]:8080`), so an ingress that routes on a header can go straight to it.
 * - `mac`: HMAC-SHA256 over the server's name, the owner and the inner id, cut to 128 bits,
 *   base64url (22 characters). Binding the server keeps an id of one route from opening on another.
 * - `inner`: the child's own id, as it minted it.
 *
 * Every character is visible ASCII (0x21–0x7E), as the spec asks of a session id. A UUID inner id
 * makes 90–110 characters. `openSession` reads nothing of the owner before the MAC checks out: an
 * address in an id is used only when the id is one a pod with the key made.
 */
import { hkdfSync } from 'node:crypto';
import { isIP } from 'node:net';
import { createMac, MAC_CHARS } from './mac.js';

export const SEAL_PREFIX = 'm1_';
/** A sealed id longer than this is refused unread (an owner is at most 47 characters, an inner id 256). */
export const MAX_SEALED_LENGTH = 3 + 47 + 1 + MAC_CHARS + 1 + 256;
/** An inner id is what a child minted: visible ASCII, at most this long, or it is not sealed. */
export const MAX_INNER_LENGTH = 256;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
/** The owner's characters: an IPv4 or bracketed IPv6 address, and a port. Never an underscore. */
const OWNER = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]{2,45}\]):\d{1,5}$/;

/** What a session id came to: sealed by a pod with the key (its owner and the child's id), or not. */
export type OpenedSession =
  | { readonly ok: true; readonly owner: string; readonly inner: string }
  | { readonly ok: false };

export interface SessionSeal {
  /** This pod's address, as sealed into the ids it makes. */
  readonly owner: string;
  /** Wraps a child's session id for `server`, with this pod as its owner. */
  seal(server: string, inner: string): string;
  /** Unwraps an id a client sent for `server`: ok only when its MAC is one of the keys'. */
  open(server: string, sealed: string): OpenedSession;
}

/**
 * `keys`: the secret first (sealed with), then earlier ones still opened during a rotation. Each is
 * stretched into its own sealing key (HKDF), apart from the loop mark's (mark.ts).
 */
export function createSessionSeal(keys: readonly string[], owner: string): SessionSeal {
  if (!OWNER.test(owner)) throw new TypeError(`not an address and port: ${owner}`);
  const macs = keys.map((key) => createMac(deriveKey(key, 'mcpmux session seal v1')));
  const message = (server: string, address: string, inner: string) => `${server}\n${address}\n${inner}`;
  return {
    owner,
    seal(server, inner) {
      return `${SEAL_PREFIX}${owner}_${macs[0]!.of(message(server, owner, inner))}_${inner}`;
    },
    open(server, sealed) {
      if (sealed.length > MAX_SEALED_LENGTH || !sealed.startsWith(SEAL_PREFIX)) return REFUSED;
      const ownerEnd = sealed.indexOf('_', SEAL_PREFIX.length);
      if (ownerEnd === -1 || ownerEnd - SEAL_PREFIX.length > 47) return REFUSED;
      const macEnd = ownerEnd + 1 + MAC_CHARS;
      if (sealed.charCodeAt(macEnd) !== 0x5f /* _ */) return REFUSED;
      const address = sealed.slice(SEAL_PREFIX.length, ownerEnd);
      const inner = sealed.slice(macEnd + 1);
      if (inner.length === 0 || inner.length > MAX_INNER_LENGTH || !VISIBLE_ASCII.test(inner)) return REFUSED;
      // Compared as text (mac.ts): base64url's last character carries 4 bits that decoding drops,
      // and an id must have one spelling only.
      const given = sealed.slice(ownerEnd + 1, macEnd);
      const signed = message(server, address, inner);
      for (const mac of macs) {
        // The address is only text under the MAC until it checks out; then it must parse as one.
        if (mac.verifies(given, signed)) return OWNER.test(address) ? { ok: true, owner: address, inner } : REFUSED;
      }
      return REFUSED;
    },
  };
}

const REFUSED: OpenedSession = Object.freeze({ ok: false });

/** A key of its own for each use of the one secret (RFC 5869), so a MAC of one use is never valid for another. */
export function deriveKey(secret: string, use: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), use, 32));
}

/** Whether `text` could be an owner address: for the config check of `cluster.advertiseAddress`. */
export function isOwnerAddress(text: string): boolean {
  if (!OWNER.test(text)) return false;
  const { host, port } = splitOwner(text);
  return isIP(host) !== 0 && port >= 1 && port <= 65535;
}

/** An owner address as host and port, for connecting to it. */
export function splitOwner(owner: string): { readonly host: string; readonly port: number } {
  const colon = owner.lastIndexOf(':');
  const host = owner.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(owner.slice(colon + 1)) };
}
