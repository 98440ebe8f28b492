/**
 * The public listener's request handler: guard, path check, route, readiness gate, forward.
 * It counts requests in flight so that a graceful stop can drain them, and reports every answered
 * request as a `request-finished` event (access log, metrics).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Events } from '../events.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { sendBadPath, sendForbiddenHost, sendNoRoute, sendNotReady, sendUpstreamError } from './errors.js';
import { createForwarder, HEADERS_AT, type Forwarder, type ForwarderHooks } from './forward.js';
import { prepareRequestHeaders } from './headers.js';
import type { HostGuard } from './host-guard.js';
import { checkRequestTarget, type RouteTable } from './routes.js';

export interface ProxyHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inFlight: number;
  /** Drops every pooled upstream connection. */
  close(): void;
}

/** What the handler learns about a request as it goes: its server, and whether a child got it. */
interface RequestState {
  server: string;
  forwarded: boolean;
}
const STATE = Symbol('mcpmux.request');
type ProxiedRequest = IncomingMessage & { [STATE]?: RequestState };
type TimedResponse = ServerResponse & { [HEADERS_AT]?: number };

export function createProxyHandler(deps: { supervisor: Supervisor; routes: RouteTable; guard: HostGuard; events: Events }): ProxyHandler {
  const { supervisor, routes, guard, events } = deps;
  const forwarders = new Map<string, Forwarder>();
  let inFlight = 0;

  const hooks: ForwarderHooks = {
    onUpstreamError(error, req, res) {
      const server = (req as ProxiedRequest)[STATE]?.server ?? '';
      const message = (error.cause as Error | undefined)?.message ?? error.kind;
      events.emit('upstream-error', { server, kind: error.kind, message, responded: res.headersSent });
      sendUpstreamError(res, server, error.kind);
    },
  };

  function forwarderFor(name: string, port: number): Forwarder {
    const current = forwarders.get(name);
    if (current?.port === port) return current;
    current?.close();
    const created = createForwarder(port, hooks);
    forwarders.set(name, created);
    return created;
  }

  /**
   * Reports the request once its response is done or cut; runs for every request. A pipelined
   * request queued behind another never gets its response's 'close' if the client goes away, so
   * the socket's 'close' ends it too.
   */
  function track(req: IncomingMessage, res: TimedResponse, path: string, state: RequestState): void {
    const started = performance.now();
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
      const now = performance.now();
      const headersAt = res[HEADERS_AT] ?? (res.headersSent ? now : undefined);
      const session = req.headers['mcp-session-id'];
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
        aborted: !res.writableFinished,
      });
    };
    res.once('close', done);
    socket.once('close', done);
  }

  return {
    get inFlight() {
      return inFlight;
    },
    handle(req, res) {
      const target = checkRequestTarget(req.url ?? '');
      const state: RequestState = { server: '', forwarded: false };
      (req as ProxiedRequest)[STATE] = state;
      track(req, res, target.ok ? target.path : '', state);
      const verdict = guard(req.headers);
      if (verdict !== 'ok') return sendForbiddenHost(res, verdict);
      if (!target.ok) return sendBadPath(res, target.reason);
      const match = routes.match(target.path, target.query);
      if (!match) return sendNoRoute(res);
      const name = match.route.server;
      state.server = name;
      const server = supervisor.get(name);
      const port = server?.readyPort;
      if (!server || port === undefined) return sendNotReady(res, name, server?.state ?? 'unknown');
      state.forwarded = true;
      events.emit('request-started', { server: name });
      prepareRequestHeaders(req, match.route.prefix);
      req.url = match.childUrl;
      forwarderFor(name, port).forward(req, res);
    },
    close() {
      for (const forwarder of forwarders.values()) forwarder.close();
      forwarders.clear();
    },
  };
}

