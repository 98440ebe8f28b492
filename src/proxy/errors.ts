/**
 * The proxy's refusals, by what went wrong: each is one entry of the catalogue in ../answers.ts,
 * which fixes its status and JSON-RPC code.
 */
import type { ServerResponse } from 'node:http';
import type { UpstreamErrorKind } from '../errors.js';
import { sendRefusal } from '../answers.js';

const CLOSE = { connection: 'close' };

export function sendNoRoute(res: ServerResponse): void {
  sendRefusal(res, 'no_route', 'No MCP server is mounted at this path');
}

export function sendBadPath(res: ServerResponse, reason: string): void {
  sendRefusal(res, 'bad_request', `Bad request: ${reason}`, { headers: CLOSE });
}

export function sendForbiddenHost(res: ServerResponse, what: 'Host' | 'Origin'): void {
  sendRefusal(res, 'forbidden', `Forbidden: this ${what} is not allowed`);
}

/** No server name: a client without a token learns nothing about what is behind the route. */
export function sendUnauthorized(res: ServerResponse, challenge: string): void {
  sendRefusal(res, 'unauthorized', 'Unauthorized: a valid bearer token is required', { headers: { 'www-authenticate': challenge } });
}

export function sendTooLarge(res: ServerResponse, limit: number): void {
  sendRefusal(res, 'body_too_large', `Request body larger than ${limit} bytes`);
}

export function sendHeadersTooLarge(res: ServerResponse): void {
  sendRefusal(res, 'headers_too_large', 'Request header fields too large', { headers: CLOSE });
}

export function sendUpgradeRefused(res: ServerResponse, server: string): void {
  sendRefusal(res, 'bad_request', 'Bad request: Upgrade is not allowed on this route', { server, headers: CLOSE });
}

export function sendBusy(res: ServerResponse, server: string): void {
  sendRefusal(res, 'busy', `Server ${server} is at its limit of requests in flight`, { server });
}

/** The process that held this session is gone: 404, as the spec has it, so the client starts a new session. */
export function sendSessionGone(res: ServerResponse, server: string): void {
  sendRefusal(res, 'session_gone', 'Session not found: the process that held it is gone; start a new session', { server });
}

/** A session id no pod of this cluster made (cluster/seal.ts): 404, as for any unknown session, and nothing said of why. */
export function sendUnknownSession(res: ServerResponse, server: string): void {
  sendRefusal(res, 'session_gone', 'Session not found; start a new session', { server });
}

/** The pod that owns this session cannot be reached (it is gone): 404, so the client starts a new session. */
export function sendOwnerGone(res: ServerResponse, server: string): void {
  sendRefusal(res, 'session_gone', 'Session not found: the pod that held it is gone; start a new session', { server });
}

/** A relayed request reached a pod that is not its session's owner: two pods disagree about an address (cluster.advertiseAddress). */
export function sendRelayLoop(res: ServerResponse, server: string): void {
  sendRefusal(res, 'relay_loop', `A relayed request for server ${server} reached a pod that does not own its session; check cluster.advertiseAddress on every pod`, { server });
}

/**
 * A new session that the session table has no room for (every entry of this client, or of the
 * server, in use or on a draining process): 503 with Retry-After, never a session left to land on
 * any replica.
 */
export function sendSessionsFull(res: ServerResponse, server: string): void {
  sendRefusal(res, 'sessions_full', `Server ${server} cannot take another session now: the sessions it would make room with are all in use; retry later`, { server });
}

export function sendNotReady(res: ServerResponse, server: string, state: string): void {
  sendRefusal(res, 'not_ready', `Server ${server} is not ready (${state})`, { server });
}

/** Upstream trouble: 504 for a timeout, 502 otherwise. A response already under way is cut, never left hanging. */
export function sendUpstreamError(res: ServerResponse, server: string, kind: UpstreamErrorKind): void {
  if (kind === 'timeout') sendRefusal(res, 'upstream_timeout', `Server ${server} did not answer in time`, { server });
  else sendRefusal(res, 'upstream_unreachable', `Server ${server} could not be reached`, { server });
}

/** RFC 9112 3.2: more than one Host line is a 400; which one a child would believe is anyone's guess. */
export function sendDuplicateHost(res: ServerResponse): void {
  sendRefusal(res, 'bad_request', 'Bad request: more than one Host header', { headers: CLOSE });
}

/**
 * A refusal of auth (auth/gate.ts): 401 with its challenge (no server name: a client without a
 * valid token learns nothing of what is behind the route), 403 short of scope, 503 with
 * Retry-After when the key set cannot be reached (the token is not what is wrong).
 */
export function sendAuthRefusal(res: ServerResponse, server: string, refusal: { status: 401 | 403 | 503; challenge: string | undefined; retryAfterSeconds?: number | undefined; description: string }): void {
  const headers = refusal.challenge ? { 'www-authenticate': refusal.challenge } : undefined;
  if (refusal.status === 401) return sendRefusal(res, 'unauthorized', `Unauthorized: ${refusal.description}`, { ...(headers && { headers }) });
  if (refusal.status === 403) return sendRefusal(res, 'insufficient_scope', `Forbidden: ${refusal.description}`, { server, ...(headers && { headers }) });
  sendRefusal(res, 'auth_unavailable', `Cannot check access tokens now: ${refusal.description}; retry later`, { server, ...(refusal.retryAfterSeconds !== undefined && { retryAfterSeconds: refusal.retryAfterSeconds }) });
}

/** A call the policy refuses: short of scope (403 with a challenge naming every scope it needs), or a `when` rule (403). */
export function sendCallRefused(res: ServerResponse, server: string, id: string | number | null | undefined, refusal: { reason: 'insufficient_scope'; challenge: string; message: string } | { reason: 'policy_denied'; message: string }): void {
  const headers = refusal.reason === 'insufficient_scope' ? { 'www-authenticate': refusal.challenge } : undefined;
  sendRefusal(res, refusal.reason, `Forbidden: ${refusal.message}`, { server, id: id ?? null, ...(headers && { headers }) });
}

/** A 2026-07-28 request whose Mcp-Method or Mcp-Name header disagrees with its body: the spec's HeaderMismatch. */
export function sendHeaderMismatch(res: ServerResponse, server: string, id: string | number | null | undefined, message: string): void {
  sendRefusal(res, 'header_mismatch', message, { server, id: id ?? null });
}

/** A body a policy route cannot read as JSON-RPC: refused, since no call in it could be checked. */
export function sendUnreadableBody(res: ServerResponse, server: string, reason: string): void {
  sendRefusal(res, 'bad_request', `Bad request: ${reason}`, { server });
}
