/**
 * Under `cluster`, where a request's session lives (cluster/cluster.ts's placement, acted on):
 * here (its id unwrapped for the child: serve it), another pod (relayed there, peer-relay.ts), or
 * nowhere a pod with the key made (refused before any connection). And on the way back, every
 * session id a child names reaches the client sealed with this pod as its owner.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from '../cluster/cluster.js';
import { PEER_HEADER } from '../cluster/mark.js';
import type { Events } from '../events.js';
import { normalizeAddress } from './client-identity.js';
import { sendRelayLoop, sendUnknownSession } from './errors.js';
import type { PeerRelay } from './peer-relay.js';
import { stateOf, type RequestState } from './request-state.js';

export interface SessionPlacement {
  /** True when the request is answered or relayed; false: serve it here (its id unwrapped). `relay`: false for an Upgrade, never relayed. */
  place(req: IncomingMessage, res: ServerResponse, state: RequestState, server: string, relay: boolean): boolean;
  /** The forwarder's onHead hook: a child's Mcp-Session-Id sealed for the client. */
  sealAnswer(req: IncomingMessage, headers: string[]): void;
}

export function createSessionPlacement(cluster: Cluster, peers: PeerRelay, events: Events, isTrusted: (address: string | undefined) => boolean): SessionPlacement {
  return {
    /**
     * Under `cluster`, where a request's session lives: here (its id unwrapped for the child, and
     * false returned: serve it), another pod (relayed there), or nowhere a pod with the key made
     * (refused before any connection). True when the request is answered or relayed.
     */
    place(req, res, state, server, relay) {
      const session = req.headers['mcp-session-id'];
      if (typeof session !== 'string') return false;
      const mark = req.headers[PEER_HEADER];
      const peer = req.socket.remoteAddress;
      const placement = cluster.place(server, session, typeof mark === 'string' ? mark : undefined, peer === undefined ? undefined : normalizeAddress(peer));
      if (placement.kind === 'local') {
        state.sealed = session;
        state.inner = placement.inner;
        state.relayedBy = placement.relayedBy;
        setSessionHeader(req, placement.inner);
        return false;
      }
      if (placement.kind === 'remote' && relay) {
        state.owner = placement.owner;
        state.inner = placement.inner;
        peers.relay(req, res, server, placement.owner, session, isTrusted(peer));
        return true;
      }
      const reason = placement.kind === 'remote' ? 'owner_refused' : placement.reason;
      events.emit('session-relay', { server, result: reason, owner: placement.kind === 'remote' ? placement.owner : undefined });
      if (reason === 'loop') sendRelayLoop(res, server);
      else sendUnknownSession(res, server);
      return true;
    },
    sealAnswer(req, headers) {
      const state = stateOf(req);
      if (!state) return;
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i]!.length !== 14 || headers[i]!.toLowerCase() !== 'mcp-session-id') continue;
        const id = headers[i + 1]!;
        headers[i + 1] = id === state.inner && state.sealed !== undefined ? state.sealed : cluster.seal(state.server, id);
      }
    },
  };
}

/** Sets the Mcp-Session-Id the child gets (the unwrapped one), in the parsed and the raw headers. */
function setSessionHeader(req: IncomingMessage, id: string): void {
  req.headers['mcp-session-id'] = id;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 14 && raw[i]!.toLowerCase() === 'mcp-session-id') raw[i + 1] = id;
}
