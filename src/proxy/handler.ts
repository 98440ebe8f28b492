/**
 * The public listener's request handler: limits, guard, path check, route, auth, readiness gate,
 * forward. It counts requests in flight so that a graceful stop can drain them, and reports every
 * answered request as a `request-finished` event (access log, metrics).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config/schema.js';
import type { Events } from '../events.js';
import type { Endpoint } from '../routing/endpoint.js';
import type { PrefixMatch } from '../routing/match.js';
import type { Routing } from '../routing/routing.js';
import { holdSession, releaseSession, type SessionEntry } from '../routing/sessions.js';
import { pickEndpoint, type Route } from '../routing/table.js';
import type { AuthGate, Caller } from '../auth/gate.js';
import { buildResourceMetadata, METADATA_HEADERS } from '../auth/resource-metadata.js';
import { discardBody, limitBody, readWholeBody } from './body-limit.js';
import { createConnectionGate, type ConnectionGate } from './connections.js';
import {
  sendAuthRefusal, sendBadPath, sendBusy, sendDuplicateHost, sendForbiddenHost, sendHeadersTooLarge, sendNoRoute, sendNotReady, sendSessionGone, sendTooLarge, sendUpgradeRefused, sendUpstreamError,
} from './errors.js';
import { abortUpstream, createForwarder, HEADERS_AT, type Forwarder, type ForwarderHooks } from './forward.js';
import { buildRequestHeaders, pushBodyLength, removeHeader, setIdentityHeaders, toHeaderObject } from './headers.js';
import { createRouteGuard, type GuardPass } from './route-guard.js';
import { createAddressMatch } from '../address-match.js';
import { identifyClient } from './client-identity.js';
import { createPeerRelay, type PeerRelay } from './peer-relay.js';
import { STATE, type ProxiedRequest, type RequestState } from './request-state.js';
import { createSessionPlacement } from './session-placement.js';
import { createSessionAnswerCheck } from './session-answers.js';
import { describeErrorCode, peekMcpBody, protocolOf, readMcpHeaders, readMcpOutcome } from './mcp-call.js';
import { TAP } from './relay.js';
import { REFUSAL_CODE } from '../answers.js';
import { createHostGuard, hasRepeatedHost, isValidHost } from './host-guard.js';
import { matchMetadataPath, rewriteResource } from './oauth-metadata.js';
import { RefusalResponse } from './refusal-response.js';
import { checkRequestTarget, type PathCheck } from './request-target.js';
import { endTrace, TRACE_HEADERS, traceHop } from './trace-hop.js';
import type { RequestTracing } from '../tracing/request-spans.js';

export interface ProxyHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** For the server's 'checkContinue' event. */
  handleContinue(req: IncomingMessage, res: ServerResponse): void;
  /** For the server's 'upgrade' event: forwarded only to servers that allow it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly inFlight: number;
  /** The public listener's connections: admit each through `connections.admit` ('connection' event). */
  readonly connections: ConnectionGate;
  /** Drops every pooled upstream connection. */
  close(): void;
}

type TimedResponse = ServerResponse & { [HEADERS_AT]?: number; [REFUSAL_CODE]?: number; [TAP]?: ((this: TimedResponse, chunk: Buffer) => void) | undefined };
/** A route match; `metadata` marks an RFC 9728 metadata request, which needs no token. */
type ProxyRoute = PrefixMatch<Route> & { metadata?: boolean };

/**
 * The handler reads routes only from `routing.current`, the snapshot of the moment: a reload or a
 * rollout swaps it, and a request in flight keeps the endpoint it was admitted to.
 */
export function createProxyHandler(deps: { listen: Config['listen']; routing: Routing; events: Events; gate: AuthGate; maxConnections?: number; cluster?: Cluster | undefined; tracing?: RequestTracing | undefined }): ProxyHandler {
  const { routing, events, listen, cluster, tracing } = deps;
  const routeGuard = createRouteGuard({ gate: deps.gate, events, maxBodyBytes: listen.limits.maxBodyBytes });
  const { limits } = listen;
  const guard = createHostGuard(listen);
  const isTrusted = createAddressMatch(listen.trustedProxies);
  /** A request relayed by a peer pod believes that peer's X-Forwarded-*, as a trusted proxy's. */
  const trustOf = (req: IncomingMessage): ((address: string | undefined) => boolean) => {
    const relayedBy = (req as ProxiedRequest)[STATE]?.relayedBy;
    return relayedBy === undefined ? isTrusted : (address) => address === relayedBy || isTrusted(address);
  };
  const peers: PeerRelay | undefined = cluster && createPeerRelay(cluster, events, limits.maxBodyBytes);
  const placement = cluster && createSessionPlacement(cluster, peers!, events, isTrusted);
  const connections = createConnectionGate(
    { maxConnections: deps.maxConnections ?? limits.maxConnections, maxConnectionsPerClient: limits.maxConnectionsPerClient },
    // Peer pods carry many clients each, as trusted proxies do.
    cluster ? (address) => isTrusted(address) || cluster.isPeer(address) : isTrusted,
    (reason) => events.emit('connection-closed', { reason }),
  );
  /** One forwarder (connection pool) per endpoint, dropped when its process is gone. */
  const forwarders = new Map<Endpoint, Forwarder>();
  const perServer = new Map<string, number>();
  /** One frozen payload per server for the per-request `request-started` event: nothing to allocate. */
  const startedPayloads = new Map<string, { server: string }>();
  const startedPayload = (server: string) => {
    let payload = startedPayloads.get(server);
    if (!payload) startedPayloads.set(server, (payload = Object.freeze({ server })));
    return payload;
  };
  const checkSessionAnswer = createSessionAnswerCheck(routing, trustOf);
  let inFlight = 0;
  events.on('endpoint-gone', ({ endpoint }) => {
    forwarders.get(endpoint)?.close();
    forwarders.delete(endpoint);
  });

  const hooks: ForwarderHooks = {
    onUpstreamError(error, req, res) {
      const server = (req as ProxiedRequest)[STATE]?.server ?? '';
      const message = (error.cause as Error | undefined)?.message ?? error.kind;
      events.emit('upstream-error', { server, kind: error.kind, message, responded: res?.headersSent ?? true });
      if (res) sendUpstreamError(res, server, error.kind);
    },
    /** Session affinity: a new session learnt, or refused for want of room; an ended one forgotten. */
    onAnswer(req, answer, res) {
      return checkSessionAnswer(req, answer, res, (req as ProxiedRequest)[STATE]?.endpoint);
    },
    // Under `cluster`, a child's session id reaches the client sealed with this pod as its owner.
    onHead: placement?.sealAnswer,
  };

  function forwarderFor(endpoint: Endpoint, route: Route): Forwarder {
    const current = forwarders.get(endpoint);
    if (current) {
      // A reload changed the route's timeout: requests from now on get the new one.
      if (current.upstreamTimeoutSeconds !== route.policy.upstreamTimeoutSeconds) current.retime(route.policy.upstreamTimeoutSeconds);
      return current;
    }
    const created = createForwarder(endpoint.port, hooks, route.policy.upstreamTimeoutSeconds);
    forwarders.set(endpoint, created);
    return created;
  }

  /**
   * Reports the request once its response is done or cut; runs for every request. A pipelined
   * request queued behind another never gets its response's 'close' if the client goes away, so
   * the socket's 'close' ends it too.
   */
  function track(req: IncomingMessage, res: TimedResponse, path: string, state: RequestState): void {
    const started = performance.now();
    if (tracing) state.startedAt = started;
    const socket = req.socket;
    const bytesBefore = socket.bytesWritten;
    inFlight += 1;
    let finished = false;
    const done = () => {
      // Both events can fire, and in the same emit: the socket's 'close' also closes the response.
      if (finished) return;
      finished = true;
      res.off('close', done);
      socket.off('close', done);
      inFlight -= 1;
      if (state.entered) connections.leave(socket);
      const aborted = !res.writableFinished;
      if (state.forwarded) {
        leave(state, req.method);
        // The client left before its answer was complete: the child's request is cut too.
        if (aborted) abortUpstream(req);
      } else if (aborted && state.owner !== undefined) abortUpstream(req);
      const now = performance.now();
      const headersAt = res[HEADERS_AT] ?? (res.headersSent ? now : undefined);
      const session = state.inner ?? req.headers['mcp-session-id'];
      const refused = res[REFUSAL_CODE];
      const mcpError =
        state.mcp === undefined ? undefined
        : refused !== undefined ? describeErrorCode(refused)
        : state.first !== undefined ? readMcpOutcome(state.mcp.method, state.first, state.last!)
        : undefined;
      state.first = state.last = undefined;
      const traceId = state.spans?.sampledTraceId;
      if (state.spans) endTrace(state, { status: res.headersSent ? res.statusCode : 0, mcpError, aborted });
      events.emit('request-finished', {
        server: state.server,
        method: req.method ?? '',
        path,
        status: res.headersSent ? res.statusCode : 0,
        durationMs: now - started,
        firstByteMs: headersAt === undefined ? undefined : headersAt - started,
        bytes: socket.bytesWritten - bytesBefore,
        session: typeof session === 'string' ? session.slice(0, 8) : undefined,
        forwarded: state.forwarded,
        pid: state.endpoint?.pid,
        owner: state.owner,
        relayedBy: state.relayedBy,
        aborted,
        mcp: state.mcp,
        mcpError,
        traceId,
        ...state.logged,
      });
    };
    // on, not once: done() takes both off itself, and once would wrap each in a new closure.
    res.on('close', done);
    socket.on('close', done);
  }

  /**
   * Readiness and the in-flight cap, shared by plain and Upgrade requests, past auth; answers a
   * refusal itself. A POST's MCP call is known from the 2026-07-28 headers, so that mcpmux's own
   * refusals are counted and logged by call too (a client without a token names no label value).
   */
  function admit(req: IncomingMessage, match: ProxyRoute, res: ServerResponse, state: RequestState): Endpoint | undefined {
    const { route } = match;
    const { policy } = route;
    if (req.method === 'POST') state.mcp ??= readMcpHeaders(req.headers);
    const session = req.headers['mcp-session-id'];
    let entry: SessionEntry | undefined;
    if (typeof session === 'string') {
      entry = routing.affinity.find(route.server, session);
      if (entry === undefined && routing.affinity.hasEnded(route.server, session)) return void sendSessionGone(res, route.server);
    }
    const endpoint = pickEndpoint(route, entry?.owner);
    if (endpoint === undefined) return void sendNotReady(res, route.server, route.state);
    const max = policy.maxInFlight;
    if (max !== undefined && (perServer.get(route.server) ?? 0) >= max) return void sendBusy(res, route.server);
    // enter() holds the session's entry in use while the request goes to the entry's owner.
    if (entry !== undefined && entry.owner === endpoint) state.held = entry;
    return endpoint;
  }

  /** Counts a request in flight on its server, endpoint and session, from admission to done(). */
  function enter(state: RequestState, endpoint: Endpoint, method: string | undefined): void {
    state.forwarded = true;
    state.endpoint = endpoint;
    if (state.held) holdSession(state.held);
    endpoint.inFlight += 1;
    if (method === 'GET') endpoint.streams += 1;
    perServer.set(state.server, (perServer.get(state.server) ?? 0) + 1);
    events.emit('request-started', startedPayload(state.server));
  }

  /** The other half of enter(): the request is done, or its tunnel closed. */
  function leave(state: RequestState, method: string | undefined): void {
    const endpoint = state.endpoint!;
    perServer.set(state.server, (perServer.get(state.server) ?? 1) - 1);
    endpoint.inFlight -= 1;
    if (method === 'GET') endpoint.streams -= 1;
    if (state.held) releaseSession(state.held);
  }

  /** Limits, guard, path check and route match, in that order; answers a refusal itself. */
  function matchRoute(req: IncomingMessage, res: ServerResponse, state: RequestState, target: PathCheck): ProxyRoute | undefined {
    if (req.rawHeaders.length / 2 > limits.maxHeaderCount) return void sendHeadersTooLarge(res);
    if (hasRepeatedHost(req.rawHeaders)) return void sendDuplicateHost(res);
    const verdict = guard(req.headers);
    if (verdict !== 'ok') return void sendForbiddenHost(res, verdict);
    if (!target.ok) return void sendBadPath(res, target.reason);
    const routes = routing.current;
    const method = req.method;
    let metadata = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? matchMetadataPath(routes, target.path, target.query) : undefined;
    // A CORS preflight is answered for mcpmux's own metadata only; a child's is its own business.
    if (metadata && method === 'OPTIONS' && !metadata.route.policy.auth?.oauth) metadata = undefined;
    const match = metadata ?? routes.match(target.path, target.query);
    if (!match) return void sendNoRoute(res);
    state.server = match.route.server;
    return match;
  }

  /**
   * An Upgrade request (e.g. WebSocket): the same route, guard, auth, readiness and caps as any
   * request, then socket to socket. Refusals are written raw: a pipelined response may still
   * own the socket, so no ServerResponse can be bound to it.
   */
  function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const state: RequestState = { server: '', forwarded: false, entered: true };
    (req as ProxiedRequest)[STATE] = state;
    // The connection is a tunnel from here on: never idle, never handed another request.
    connections.enter(socket);
    const refusal = new RefusalResponse(req, socket);
    const target = checkRequestTarget(req.url ?? '');
    const match = matchRoute(req, refusal, state, target);
    if (!match) return;
    const { route } = match;
    if (!route.policy.allowUpgrade) return sendUpgradeRefused(refusal, route.server);
    // An Upgrade is never relayed: a session of another pod is not found here.
    if (placement?.place(req, refusal, state, route.server, false)) return;
    const auth = route.policy.auth;
    if (!auth) return tunnel(req, socket, head, match, state, refusal, target);
    // A route with a policy allows no Upgrade (config): the policy reads bodies, not frames.
    const outcome = deps.gate.check(auth, [], req.headers.authorization);
    const go = (settled: Awaited<typeof outcome>) => {
      events.emit('auth-result', { server: route.server, result: settled.ok ? 'allowed' : settled.result });
      if (!settled.ok) return sendAuthRefusal(refusal, route.server, settled);
      state.caller = settled.caller;
      state.logged = callerFields(settled.caller, route);
      tunnel(req, socket, head, match, state, refusal, target);
    };
    if (!(outcome instanceof Promise)) return go(outcome);
    outcome.then((settled) => (socket.destroyed ? undefined : go(settled)), () => socket.destroy());
  }

  /** An admitted Upgrade, socket to socket. */
  function tunnel(req: IncomingMessage, socket: Socket, head: Buffer, match: ProxyRoute, state: RequestState, refusal: RefusalResponse, target: PathCheck): void {
    const { route } = match;
    const endpoint = admit(req, match, refusal, state);
    if (!endpoint) return;
    enter(state, endpoint, req.method);
    inFlight += 1;
    const started = performance.now();
    socket.once('close', () => {
      inFlight -= 1;
      leave(state, req.method);
      events.emit('request-finished', {
        server: route.server, method: req.method ?? '', path: target.ok ? target.path : '', status: 101, durationMs: performance.now() - started,
        firstByteMs: undefined, bytes: socket.bytesWritten, session: undefined, forwarded: true, pid: endpoint.pid, aborted: false, mcp: undefined, mcpError: undefined,
        ...state.logged,
      });
    });
    const value = req.headers.upgrade!;
    const forwarder = forwarderFor(endpoint, route);
    // http-proxy-3 carries the upgrade, and reads the headers as an object.
    const headers = buildRequestHeaders(req, route.prefix, forwarder.host, { trusted: isTrusted(req.socket.remoteAddress), forwardAuthorization: route.policy.forwardAuthorization });
    if (route.policy.identity) setIdentityHeaders(headers, route.policy.identity, state.caller);
    req.headers = toHeaderObject(headers);
    req.headers.connection = 'Upgrade';
    req.headers.upgrade = value;
    req.url = match.childUrl;
    forwarder.upgrade(req, socket, head);
  }

  return {
    get inFlight() {
      return inFlight;
    },
    handle(req, res) {
      const state: RequestState = { server: '', forwarded: false, entered: false };
      (req as ProxiedRequest)[STATE] = state;
      const target = checkRequestTarget(req.url ?? '');
      track(req, res, target.ok ? target.path : '', state);
      if (connections.enter(req.socket)) return serve(req, res, state, target);
      // A pipelined request: it starts when the one before it on this connection is done. Until
      // then, its records name the route it is for (its client may leave before its turn).
      if (target.ok) state.server = routing.current.match(target.path, target.query)?.route.server ?? '';
      connections.wait(req.socket, () => serve(req, res, state, target));
    },
    handleContinue(req, res) {
      // Expect: 100-continue: a declared body over the limit is not invited; handle() refuses it.
      if (Number(req.headers['content-length'] ?? 0) <= limits.maxBodyBytes) res.writeContinue();
      this.handle(req, res);
    },
    handleUpgrade(req, socket, head) {
      try {
        upgrade(req, socket as Socket, head);
      } catch (error) {
        events.emit('internal-error', { where: 'upgrade', error });
        socket.destroy();
      }
    },
    connections,
    close() {
      for (const forwarder of forwarders.values()) forwarder.close();
      forwarders.clear();
      peers?.close();
    },
  };

  /** One request, once it has its connection's turn: body limit, route, admission, forward. */
  function serve(req: IncomingMessage, res: ServerResponse, state: RequestState, target: PathCheck): void {
    state.entered = true;
    state.server = '';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxBodyBytes) {
      sendTooLarge(res, limits.maxBodyBytes);
      return discardBody(req);
    }
    const match = matchRoute(req, res, state, target);
    if (!match) return;
    const { route } = match;
    if (req.headers.upgrade !== undefined && !route.policy.allowUpgrade) return sendUpgradeRefused(res, route.server);
    // Before admission: a session of another pod is admitted there, by its owner.
    if (placement?.place(req, res, state, route.server, true)) return;
    const auth = route.policy.auth;
    if (match.metadata && auth?.oauth) return serveResourceMetadata(req, res, route);
    if (!auth || match.metadata) return proceed(req, res, state, match, OPEN);
    routeGuard.run(req, res, route, (pass) => {
      state.caller = pass.caller;
      state.logged = callerFields(pass.caller, route);
      proceed(req, res, state, match, pass);
    });
  }

  /** Admission and forwarding, past auth: `pass` carries what the auth stage read (the body, a list's filter). */
  function proceed(req: IncomingMessage, res: ServerResponse, state: RequestState, match: ProxyRoute, pass: GuardPass): void {
    // Traced, a POST is read whole first: its trace context may be in the body (`_meta`, SEP-414).
    if (tracing && req.method === 'POST' && !pass.body) {
      return readWholeBody(req, limits.maxBodyBytes, (body) => proceed(req, res, state, match, { ...pass, body }), () => sendTooLarge(res, limits.maxBodyBytes));
    }
    const { route } = match;
    const endpoint = admit(req, match, res, state);
    if (!endpoint) return;
    enter(state, endpoint, req.method);
    const post = req.method === 'POST';
    const trusted = state.relayedBy !== undefined || isTrusted(req.socket.remoteAddress);
    const publicOrigin = match.metadata ? publicOriginOf(req, trusted) : undefined;
    const forwarder = forwarderFor(endpoint, route);
    const client = route.policy.identifyClient ? identifyClient(req, trustOf(req)) : undefined;
    // Traced, the client's trace context is left out for the hop's; a body read whole gets its own length.
    const headers = buildRequestHeaders(req, route.prefix, forwarder.host, { trusted, forwardAuthorization: route.policy.forwardAuthorization, client, omit: tracing ? TRACE_HEADERS : undefined, bodyRead: pass.body !== undefined });
    if (route.policy.identity) setIdentityHeaders(headers, route.policy.identity, pass.caller);
    // A list answer is filtered as text: the child answers it uncompressed.
    if (pass.rewriteJson || pass.rewriteEvents) removeHeader(headers, 'accept-encoding');
    req.url = match.childUrl;
    if (post && !state.mcp && pass.body) state.mcp = peekMcpBody(pass.body, protocolOf(req.headers));
    // A body read whole (by the policy, or to be traced), as it was parsed; traced, perhaps with the hop's `_meta`.
    const whole = tracing ? traceHop(tracing, req, state, endpoint, headers, pass.body, trustOf(req)) : pass.body;
    let body: Readable | Buffer | undefined;
    if (whole) {
      // Its length is its own.
      pushBodyLength(headers, whole.length);
      body = whole;
    } else if (req.headers['transfer-encoding'] !== undefined) {
      body = limitBody(req, limits.maxBodyBytes, () => {
        abortUpstream(req);
        sendTooLarge(res, limits.maxBodyBytes);
      });
    }
    const rewriteJson = publicOrigin ? (value: unknown) => rewriteResource(value, publicOrigin, route.prefix) : pass.rewriteJson;
    // What a JSON answer says of the call (an error code, isError) is read from its first and last chunk.
    if (post) (res as TimedResponse)[TAP] = tapAnswer;
    forwarder.forward(req, res, headers, body || rewriteJson || pass.rewriteEvents ? { body, rewriteJson, rewriteEvents: pass.rewriteEvents } : undefined);
    // An older client names its call only in the body: read above when the body was read whole, else from its first chunk as it is relayed.
    if (post && !state.mcp && !pass.body) req.once('data', peekCall);
  }

  /** RFC 9728 metadata of an OAuth route, which mcpmux answers itself (and its CORS preflight). */
  function serveResourceMetadata(req: IncomingMessage, res: ServerResponse, route: Route): void {
    if (req.method === 'OPTIONS') return void res.writeHead(204, METADATA_HEADERS).end();
    const body = JSON.stringify(buildResourceMetadata(route.policy.auth!.oauth!, route.policy.rules?.scopesSupported ?? []));
    res.writeHead(200, { ...METADATA_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The access log's caller fields: client_id always, sub when the route's oauth.logSubject says so. */
  function callerFields(caller: Caller | undefined, route: Route): { clientId?: string; subject?: string } | undefined {
    if (!caller) return undefined;
    return { ...(caller.clientId !== undefined && { clientId: caller.clientId }), ...(caller.subject !== undefined && route.policy.auth?.oauth?.logSubject && { subject: caller.subject }) };
  }
}

/** A request that passed no auth stage: nothing read, nothing to filter. */
const OPEN: GuardPass = Object.freeze({ caller: undefined });


/** Keeps a JSON answer's first and last chunk (a shared tap: no closure per request). */
function tapAnswer(this: TimedResponse, chunk: Buffer): void {
  const state = (this.req as ProxiedRequest)[STATE];
  if (!state) return;
  state.first ??= chunk;
  state.last = chunk;
}

/** The MCP call in a request body's first chunk (a shared listener: no closure per request). */
function peekCall(this: ProxiedRequest, chunk: Buffer): void {
  const state = this[STATE];
  if (state) state.mcp = peekMcpBody(chunk, protocolOf(this.headers));
}

/**
 * The public origin a client used, for rewriting RFC 9728 `resource`: the Host it sent (already
 * checked by the guard), or a trusted proxy's X-Forwarded-Host and -Proto; only http or https.
 */
function publicOriginOf(req: IncomingMessage, trusted: boolean): string | undefined {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  const forwardedHost = trusted ? first(req.headers['x-forwarded-host']) : undefined;
  const host = forwardedHost && isValidHost(forwardedHost) ? forwardedHost : req.headers.host;
  if (!host || !isValidHost(host)) return undefined;
  const proto = trusted ? first(req.headers['x-forwarded-proto']) : undefined;
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}
