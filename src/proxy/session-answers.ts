/**
 * What the proxy learns from a child's answer for the session affinity (routing/sessions.ts), as
 * the forwarder's `onAnswer` hook: an answer that names a new session ties it to the process that
 * made it and to the client it is for (client-identity.ts); a DELETE that succeeded, or a 404 (the
 * process does not know the session), unties it. A new session the table has no room for is
 * refused instead (503 `sessions_full`), and the child told to drop it: untracked, its next request
 * would land on any replica, which does not know it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint } from '../routing/endpoint.js';
import type { Routing } from '../routing/routing.js';
import { identifyClient } from './client-identity.js';
import { sendSessionsFull } from './errors.js';
import type { AnswerVerdict } from './forward.js';
import { createSessionDropper } from './session-drop.js';

/** Reads a child's answer to a request admitted to `endpoint`; undefined for one that never was. */
export type SessionAnswerCheck = (req: IncomingMessage, answer: IncomingMessage, res: ServerResponse, endpoint: Endpoint | undefined) => AnswerVerdict;

/** `trustOf`: whose X-Forwarded-For a request's client identity may be read from (client-identity.ts). */
export function createSessionAnswerCheck(routing: Routing, trustOf: (req: IncomingMessage) => (address: string | undefined) => boolean): SessionAnswerCheck {
  const dropper = createSessionDropper();
  return (req, answer, res, endpoint) => {
    if (!endpoint) return 'relay';
    const asked = req.headers['mcp-session-id'];
    if (typeof asked === 'string') {
      const status = answer.statusCode ?? 0;
      if (status === 404 || (req.method === 'DELETE' && status < 300)) routing.affinity.forget(endpoint.server, asked);
      return 'relay';
    }
    const created = answer.headers['mcp-session-id'];
    if (typeof created !== 'string' || routing.affinity.learn(created, endpoint, identifyClient(req, trustOf(req)))) return 'relay';
    sendSessionsFull(res, endpoint.server);
    const forwardsAuthorization = routing.current.get(endpoint.server)?.policy.forwardAuthorization ?? false;
    // req.url is the child's path by now (the route's prefix removed).
    dropper.drop(endpoint.port, req.url ?? '/', created, forwardsAuthorization ? req.headers.authorization : undefined);
    return 'replaced';
  };
}
