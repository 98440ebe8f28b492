/**
 * The public listener's request handler: guard, path check, route, readiness gate, forward.
 * It counts requests in flight so that a graceful stop can drain them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Events } from '../events.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { sendBadPath, sendForbiddenHost, sendNoRoute, sendNotReady, sendUpstreamError } from './errors.js';
import { createForwarder, type Forwarder, type ForwarderHooks } from './forward.js';
import { prepareRequestHeaders } from './headers.js';
import type { HostGuard } from './host-guard.js';
import { checkRequestTarget, type RouteTable } from './routes.js';

export interface ProxyHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inFlight: number;
  /** Drops every pooled upstream connection. */
  close(): void;
}

export function createProxyHandler(deps: { supervisor: Supervisor; routes: RouteTable; guard: HostGuard; events: Events }): ProxyHandler {
  const { supervisor, routes, guard, events } = deps;
  const forwarders = new Map<string, Forwarder>();
  let inFlight = 0;
  const onClose = () => void (inFlight -= 1);

  const hooks: ForwarderHooks = {
    onUpstreamError(error, req, res) {
      const server = (req as RoutedRequest)[SERVER] ?? 'unknown';
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

  return {
    get inFlight() {
      return inFlight;
    },
    handle(req, res) {
      inFlight += 1;
      res.once('close', onClose);
      const verdict = guard(req.headers);
      if (verdict !== 'ok') return sendForbiddenHost(res, verdict);
      const target = checkRequestTarget(req.url ?? '');
      if (!target.ok) return sendBadPath(res, target.reason);
      const match = routes.match(target.path, target.query);
      if (!match) return sendNoRoute(res);
      const server = supervisor.get(match.route.server);
      const port = server?.readyPort;
      if (!server || port === undefined) return sendNotReady(res, match.route.server, server?.state ?? 'unknown');
      (req as RoutedRequest)[SERVER] = server.name;
      prepareRequestHeaders(req, match.route.prefix);
      req.url = match.childUrl;
      forwarderFor(server.name, port).forward(req, res);
    },
    close() {
      for (const forwarder of forwarders.values()) forwarder.close();
      forwarders.clear();
    },
  };
}

const SERVER = Symbol('mcpmux.server');
type RoutedRequest = IncomingMessage & { [SERVER]?: string };
