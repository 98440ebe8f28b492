/**
 * Requests from a chosen loopback source address (127.0.0.5, 127.0.0.6, …), so that a test can
 * be two clients at once: an attacker and a victim, as mcpmux's per-client limits see them.
 */
import { Agent, fetch as undiciFetch } from 'undici';

/** A fetch whose connections start from `address`; pass it to the SDK's transport as `fetch`. */
export function fetchFrom(address: string): typeof fetch {
  // A client option, not a connect one: undici's connector sets localAddress from the client's own, over `connect`'s.
  const dispatcher = new Agent({ localAddress: address });
  return ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}
