/**
 * The key that keeps a stdio server's bridge's own endpoints (/healthz, /readyz, /status) for
 * mcpmux alone: the public route reaches the bridge's port too, and must get nothing of them. Each
 * bridge gets its key in its environment (the stdio server's own environment never has it); mcpmux
 * sends it on its probes and status reads. A bridge's key is an HMAC of its port under a secret
 * made at mcpmux's start, so whoever knows the port (a probe, the status read) has the key, and a
 * bridge's key tells nothing of another's.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** The bridge reads its key from here. */
export const BRIDGE_KEY_ENV = 'MCPMUX_BRIDGE_KEY';
/** And mcpmux sends it in this header. */
export const BRIDGE_KEY_HEADER = 'mcpmux-bridge-key';

let secret: Buffer | undefined;

export function bridgeKeyFor(port: number): string {
  secret ??= randomBytes(32);
  return createHmac('sha256', secret).update(String(port)).digest('base64url');
}

/** The headers that open a bridge's own endpoints on `port`. */
export function bridgeKeyHeaders(port: number): Record<string, string> {
  return { [BRIDGE_KEY_HEADER]: bridgeKeyFor(port) };
}
