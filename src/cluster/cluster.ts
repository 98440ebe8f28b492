/**
 * Where a request's session lives, as a value the proxy acts on (it never reaches in here for
 * anything else): this pod, another pod (relay it there), or nowhere a pod with the key made.
 * Built once at start from `cluster`; without `cluster`, the proxy has none and nothing changes.
 */
import type { ClusterConfig } from '../config/schema.js';
import { createAddressMatch } from '../address-match.js';
import { createPeerMark } from './mark.js';
import { createSessionSeal, splitOwner } from './seal.js';

/**
 * - `local`: this pod owns it; `inner` is the child's id. `relayedBy`: the request came from the
 *   peer pod at this address, under a valid mark (its X-Forwarded-* are believed).
 * - `remote`: `owner` owns it; relay the request there.
 * - `refused`: `bad_seal` (not an id a pod with the key made), `owner_refused` (sealed, but its
 *   owner is outside `cluster.peers`), `loop` (relayed here by a peer, but this pod is not its
 *   owner: two pods disagree about an address, so it goes no further).
 */
export type Placement =
  | { readonly kind: 'local'; readonly inner: string; readonly relayedBy: string | undefined }
  | { readonly kind: 'remote'; readonly owner: string; readonly inner: string }
  | { readonly kind: 'refused'; readonly reason: 'bad_seal' | 'owner_refused' | 'loop' };

export interface Cluster {
  /** This pod's advertised address. */
  readonly owner: string;
  readonly connectTimeoutMs: number;
  /**
   * Places a request's session. `session`: its Mcp-Session-Id; `mark`: its Mcpmux-Peer header;
   * `peer`: the address it came from.
   */
  place(server: string, session: string, mark: string | undefined, peer: string | undefined): Placement;
  /** A child's new session id, sealed for the client. */
  seal(server: string, inner: string): string;
  /** The mark for relaying a request of `session` (as the client sent it) to its owner. */
  stamp(session: string): string;
  /** True for an address in `cluster.peers`; false for any when it is unset. */
  isPeer(address: string | undefined): boolean;
}

export function createCluster(config: ClusterConfig, nowSeconds: () => number = () => Date.now() / 1000): Cluster {
  const seal = createSessionSeal(config.keys, config.advertiseAddress);
  const mark = createPeerMark(config.keys);
  const hasPeers = config.peers.length > 0;
  const isPeer = createAddressMatch(config.peers);
  const own = seal.owner;
  return {
    owner: own,
    connectTimeoutMs: config.connectTimeoutSeconds * 1000,
    place(server, session, peerMark, peer) {
      const opened = seal.open(server, session);
      if (!opened.ok) return BAD_SEAL;
      const relayed = peerMark !== undefined && (!hasPeers || isPeer(peer)) && mark.check(peerMark, session, nowSeconds());
      if (opened.owner === own) return { kind: 'local', inner: opened.inner, relayedBy: relayed ? peer : undefined };
      if (relayed) return LOOP;
      if (hasPeers && !isPeer(splitOwner(opened.owner).host)) return OWNER_REFUSED;
      return { kind: 'remote', owner: opened.owner, inner: opened.inner };
    },
    seal: (server, inner) => seal.seal(server, inner),
    stamp: (session) => mark.stamp(session, nowSeconds()),
    isPeer: (address) => hasPeers && isPeer(address),
  };
}

const BAD_SEAL: Placement = Object.freeze({ kind: 'refused', reason: 'bad_seal' });
const OWNER_REFUSED: Placement = Object.freeze({ kind: 'refused', reason: 'owner_refused' });
const LOOP: Placement = Object.freeze({ kind: 'refused', reason: 'loop' });

