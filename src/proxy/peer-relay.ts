/**
 * Relays a request for a session another pod owns to that pod (cluster/): the whole request, its
 * body and its answer streamed both ways through the same engine as a child's (forward.ts), over
 * a keep-alive pool per owner. The owner does all the admission; this pod only relays.
 *
 * - An owner that cannot be connected to (refused, unreachable, no answer to the connect within
 *   `cluster.connectTimeoutSeconds`) is gone: 404 `session_gone`, and the client starts a new session.
 * - An owner that breaks off later is an upstream error like a child's: 502 before its answer,
 *   a cut stream after.
 * - No idle timeout of its own: the owner applies its route's upstreamTimeoutSeconds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from '../cluster/cluster.js';
import { splitOwner } from '../cluster/seal.js';
import type { Events } from '../events.js';
import { limitBody } from './body-limit.js';
import { sendOwnerGone, sendTooLarge, sendUpstreamError } from './errors.js';
import { abortUpstream, createForwarder, type Forwarder, type ForwarderHooks } from './forward.js';
import { buildPeerHeaders } from './headers.js';

/** Owners kept a pool for at once: far past a cluster's pods; the oldest goes first (pods come and go). */
const MAX_OWNERS = 256;

export interface PeerRelay {
  /** Sends the request to `owner` (the route's `server`); `session`: its Mcp-Session-Id as the client sent it. */
  relay(req: IncomingMessage, res: ServerResponse, server: string, owner: string, session: string, trusted: boolean): void;
  /** Drops every pooled connection. Safe to call twice. */
  close(): void;
}

const RELAYED = Symbol('mcpmux.relayed');
type RelayedRequest = IncomingMessage & { [RELAYED]?: { server: string; owner: string } };

export function createPeerRelay(cluster: Cluster, events: Events, maxBodyBytes: number): PeerRelay {
  const forwarders = new Map<string, Forwarder>();
  const hooks: ForwarderHooks = {
    onUpstreamError(error, req, res) {
      const { server, owner } = (req as RelayedRequest)[RELAYED]!;
      if (error.kind === 'connect') {
        events.emit('session-relay', { server, result: 'owner_gone', owner });
        // The pod is gone: its pool is of no more use.
        forwarders.get(owner)?.close();
        forwarders.delete(owner);
        if (res && !res.headersSent) sendOwnerGone(res, server);
        return;
      }
      const message = (error.cause as Error | undefined)?.message ?? error.kind;
      events.emit('upstream-error', { server, kind: error.kind, message: `relay to ${owner}: ${message}`, responded: res?.headersSent ?? true });
      if (res) sendUpstreamError(res, server, error.kind);
    },
    onAnswer(req) {
      const { server, owner } = (req as RelayedRequest)[RELAYED]!;
      events.emit('session-relay', { server, result: 'forwarded', owner });
      return 'relay';
    },
  };
  const forwarderOf = (owner: string) => {
    let forwarder = forwarders.get(owner);
    if (forwarder) return forwarder;
    if (forwarders.size >= MAX_OWNERS) {
      const [oldest, pool] = forwarders.entries().next().value!;
      pool.close();
      forwarders.delete(oldest);
    }
    const { host, port } = splitOwner(owner);
    forwarder = createForwarder(port, hooks, undefined, { host, connectTimeoutMs: cluster.connectTimeoutMs });
    forwarders.set(owner, forwarder);
    return forwarder;
  };
  return {
    relay(req, res, server, owner, session, trusted) {
      (req as RelayedRequest)[RELAYED] = { server, owner };
      const headers = buildPeerHeaders(req, cluster.stamp(session), trusted);
      const body =
        req.headers['transfer-encoding'] !== undefined
          ? limitBody(req, maxBodyBytes, () => {
              abortUpstream(req);
              sendTooLarge(res, maxBodyBytes);
            })
          : undefined;
      forwarderOf(owner).forward(req, res, headers, body ? { body } : undefined);
    },
    close() {
      for (const forwarder of forwarders.values()) forwarder.close();
      forwarders.clear();
    },
  };
}
