/**
 * The auth stage of a request on a route with auth: who it is from (auth/gate.ts), then, on a
 * route with a policy, what its body calls (auth/calls.ts) and whether this caller may
 * (auth/policy.ts). Refusals are answered here; a request that may go on is handed to `next` with
 * what the forwarding needs: the caller (identity headers, the access log), the body that was
 * checked, and how to filter the answer to a list.
 *
 * A static bearer token is an operator's credential: the policy does not apply to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { findHeaderMismatch, readBodyCalls, type BodyMessage } from '../auth/calls.js';
import { buildBearerChallenge } from '../auth/challenge.js';
import type { AuthGate, AuthOutcome, Caller } from '../auth/gate.js';
import { allowByPolicy, filterParsedAnswer, type ListRequest } from '../auth/list-filter.js';
import type { Policy, PolicyCaller } from '../auth/policy.js';
import { createSseListFilter, SseListFilter } from '../auth/sse-list-filter.js';
import { resourceMetadataUrl } from '../auth/resource-metadata.js';
import type { Events } from '../events.js';
import type { Route } from '../routing/table.js';
import { readWholeBody } from './body-limit.js';
import { sendAuthRefusal, sendCallRefused, sendHeaderMismatch, sendTooLarge, sendUnreadableBody } from './errors.js';

/** What a request that passed takes on to its child. */
export interface GuardPass {
  readonly caller: Caller | undefined;
  /** The body that was checked, written back out as it was parsed: the child gets exactly this. */
  readonly body?: Buffer | undefined;
  /** The answer to a list request, filtered for this caller: as JSON, and as SSE events. */
  readonly rewriteJson?: ((value: unknown) => unknown) | undefined;
  readonly rewriteEvents?: (() => Transform) | undefined;
}

export interface RouteGuard {
  /** Answers a refusal itself, or calls `next` once the request may go on (at once, or after a key fetch or the body). */
  run(req: IncomingMessage, res: ServerResponse, route: Route, next: (pass: GuardPass) => void): void;
}

export function createRouteGuard(deps: { gate: AuthGate; events: Events; maxBodyBytes: number }): RouteGuard {
  const { gate, events, maxBodyBytes } = deps;

  function authenticated(req: IncomingMessage, res: ServerResponse, route: Route, outcome: AuthOutcome, next: (pass: GuardPass) => void): void {
    const server = route.server;
    if (!outcome.ok) {
      events.emit('auth-result', { server, result: outcome.result });
      sendAuthRefusal(res, server, outcome);
      return;
    }
    const rules = route.policy.rules;
    // A static token passes the policy; a request with no body to check goes on as it is.
    if (!rules || !outcome.caller || req.method !== 'POST') {
      events.emit('auth-result', { server, result: 'allowed' });
      return next({ caller: outcome.caller });
    }
    readWholeBody(req, maxBodyBytes, (body) => checkCalls(req, res, route, rules, outcome.caller!, body, next), () => sendTooLarge(res, maxBodyBytes));
  }

  function checkCalls(req: IncomingMessage, res: ServerResponse, route: Route, rules: Policy, caller: Caller, body: Buffer, next: (pass: GuardPass) => void): void {
    const server = route.server;
    if (res.destroyed) return;
    const calls = readBodyCalls(body);
    if (!calls.ok) {
      events.emit('auth-result', { server, result: 'denied' });
      return sendUnreadableBody(res, server, calls.reason);
    }
    const first = calls.messages[0]!;
    const mismatch = findHeaderMismatch(req.headers, calls);
    if (mismatch) {
      events.emit('auth-result', { server, result: 'denied' });
      return sendHeaderMismatch(res, server, calls.batch ? null : first.id, mismatch);
    }
    const who: PolicyCaller = { claims: caller.claims, scopes: caller.scopes, server };
    let lists: ListRequest[] | undefined;
    for (const message of calls.messages) {
      if (message.list && (typeof message.id === 'string' || typeof message.id === 'number')) (lists ??= []).push({ id: message.id, method: message.list });
      if (!message.call) continue;
      const decision = rules.decide(message.call, who);
      if (decision.allow) continue;
      const denied = { kind: message.call.kind, name: message.call.name };
      if (decision.reason === 'insufficient_scope') {
        events.emit('auth-result', { server, result: 'insufficient_scope', denied });
        const oauth = route.policy.auth!.oauth!;
        const challenge = buildBearerChallenge({ resourceMetadata: resourceMetadataUrl(oauth), scopes: decision.scopes, error: 'insufficient_scope', description: `${describe(message)} needs the scopes ${decision.scopes.join(' ')}` });
        return sendCallRefused(res, server, calls.batch ? null : message.id, { reason: 'insufficient_scope', challenge, message: `${describe(message)} needs the scopes ${decision.scopes.join(' ')}` });
      }
      events.emit('auth-result', { server, result: 'denied', denied });
      return sendCallRefused(res, server, calls.batch ? null : message.id, { reason: 'policy_denied', message: `${describe(message)} is not allowed for this caller` });
    }
    events.emit('auth-result', { server, result: 'allowed' });
    if (!lists) return next({ caller, body: calls.canonical });
    const requests = lists.map((request) => ({ request, allow: allowByPolicy(rules, request.method, who) }));
    next({
      caller,
      body: calls.canonical,
      rewriteJson: (value) => requests.reduce((answer, { request, allow }) => filterParsedAnswer(answer, request, allow), value),
      rewriteEvents: () => filterEvents(requests, maxBodyBytes, server),
    });
  }

  return {
    run(req, res, route, next) {
      const auth = route.policy.auth!;
      const outcome = gate.check(auth, route.policy.rules?.routeScopes ?? [], req.headers.authorization);
      if (!(outcome instanceof Promise)) return authenticated(req, res, route, outcome, next);
      outcome.then(
        (settled) => {
          // The client may have gone while the token was checked.
          if (!res.destroyed && !res.writableEnded) authenticated(req, res, route, settled, next);
        },
        () => sendAuthRefusal(res, route.server, { status: 503, challenge: undefined, description: 'the token check failed' }),
      );
    },
  };
}

/**
 * The SSE answer's filter: one list request's (the usual case), or a batch's several, each event
 * passed through each in turn.
 */
function filterEvents(requests: readonly { request: ListRequest; allow: (name: string) => boolean }[], maxEventBytes: number, server: string): Transform {
  if (requests.length === 1) return createSseListFilter({ ...requests[0]!, maxEventBytes, server });
  return new ChainedSseFilters(requests.map((options) => new SseListFilter({ ...options, maxEventBytes, server })));
}

/** Several SSE filters in a row, as one Transform: what one lets out goes into the next. */
class ChainedSseFilters extends Transform {
  constructor(private readonly filters: readonly SseListFilter[]) {
    super();
  }

  /** Parts through the filters from `index` on. */
  private from(index: number, parts: Buffer[]): Buffer[] {
    for (let i = index; i < this.filters.length; i++) parts = parts.flatMap((part) => this.filters[i]!.push(part));
    return parts;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const part of this.from(0, [chunk])) this.push(part);
    callback();
  }

  override _flush(callback: () => void): void {
    // Each filter's end, once all before it have ended into it.
    for (let i = 0; i < this.filters.length; i++) for (const part of this.from(i + 1, this.filters[i]!.end())) this.push(part);
    callback();
  }
}

function describe(message: BodyMessage): string {
  const call = message.call!;
  const name = call.name.length > 64 ? `${call.name.slice(0, 64)}…` : call.name;
  return `${call.kind} ${name}`;
}
