/**
 * An endpoint: one process of a server, at its loopback port, as the routing sees it. The
 * supervisor makes one for each process that turns ready and publishes it (ready, draining, gone);
 * the route table lists it; the proxy counts on it what a drain waits for.
 */

import type { Endpoint as PublishedEndpoint } from '../events.js';

/** The address every child listens on: loopback only. */
export const CHILD_HOST = '127.0.0.1';

export class Endpoint implements PublishedEndpoint {
  readonly server: string;
  readonly pid: number;
  readonly port: number;
  /** Requests (and open streams) the proxy has in flight on this endpoint. */
  inFlight = 0;
  /** Of those, GET streams: a session's standing line for server messages, open but idle. */
  streams = 0;
  /** Sessions (Mcp-Session-Id) that the route remembers on this endpoint. */
  sessions = 0;
  /** Set by the routing while the process drains: its sessions are never evicted to make room for new ones. */
  draining = false;

  constructor(server: string, pid: number, port: number) {
    this.server = server;
    this.pid = pid;
    this.port = port;
  }

  /** Work under way, for balancing: requests in flight, a session's idle GET stream not counted. */
  get load(): number {
    return this.inFlight - this.streams;
  }

  /** Nothing left that a drain waits for: no request in flight, no live session. */
  get idle(): boolean {
    return this.inFlight === 0 && this.sessions === 0;
  }
}
