/**
 * Tells a child to drop a session that mcpmux refused to its client (the session table had no
 * room: routing/session-table.ts): a `DELETE` with its `Mcp-Session-Id`, as a client ends a
 * session. Best effort: fire and forget, on its own connection, bounded in time and in how many
 * are in flight at once; past that, the session is left to the child's own idle timeout.
 */
import http from 'node:http';
import { CHILD_HOST } from '../routing/endpoint.js';

/** DELETEs in flight at once, all children together. */
const MAX_IN_FLIGHT = 16;
const TIMEOUT_MS = 5000;

export interface SessionDropper {
  /** Sends `DELETE path` with `Mcp-Session-Id: session` to the child at `port`; `authorization` if the route forwards it. */
  drop(port: number, path: string, session: string, authorization: string | undefined): void;
  readonly inFlight: number;
}

export function createSessionDropper(maxInFlight = MAX_IN_FLIGHT, timeoutMs = TIMEOUT_MS): SessionDropper {
  let inFlight = 0;
  return {
    get inFlight() {
      return inFlight;
    },
    drop(port, path, session, authorization) {
      if (inFlight >= maxInFlight) return;
      const headers: Record<string, string> = { host: `${CHILD_HOST}:${port}`, 'mcp-session-id': session };
      if (authorization !== undefined) headers.authorization = authorization;
      let req: http.ClientRequest;
      try {
        req = http.request({ host: CHILD_HOST, port, method: 'DELETE', path, headers, agent: false });
      } catch {
        return;
      }
      inFlight += 1;
      // The whole exchange, answer included, within the deadline.
      const deadline = setTimeout(() => req.destroy(), timeoutMs).unref();
      req.once('close', () => {
        clearTimeout(deadline);
        inFlight -= 1;
      });
      req.once('response', (res) => res.resume());
      req.on('error', () => undefined);
      req.end();
    },
  };
}
