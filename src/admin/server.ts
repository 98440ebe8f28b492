/** The admin listener: /healthz, /readyz, /status, /metrics. Never reachable through the public listener. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { BridgeStatus } from '../bridge/server.js';
import type { BridgeStatusReader } from './bridge-status.js';
import type { ControlSocketState } from './control.js';
import { sendBody, sendJson } from '../answers.js';

export interface AdminDeps {
  readonly supervisor: Supervisor;
  readonly registry: Registry;
  /** True once a graceful stop has begun: /readyz turns 503 at once. */
  readonly isStopping: () => boolean;
  /** The sessions and processes of stdio servers, from their bridges. */
  readonly readBridges: BridgeStatusReader;
  /** Whether the control socket listens, and why not: `controlSocket` in /status. */
  readonly controlSocket?: (() => ControlSocketState) | undefined;
  /** With `cluster`: this pod's advertised address and its peers (never its keys), as `cluster` in /status. */
  readonly cluster?: { readonly advertiseAddress: string; readonly peers: readonly string[] } | undefined;
}

export function createAdminHandler({ supervisor, registry, isStopping, readBridges, controlSocket, cluster }: AdminDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    switch (path) {
      case '/healthz':
        return sendText(res, 200, 'ok\n');
      case '/readyz': {
        if (isStopping()) return sendText(res, 503, 'shutting down\n');
        const notReady = supervisor.notReady();
        return notReady.length === 0 ? sendText(res, 200, 'ok\n') : sendText(res, 503, `not ready: ${notReady.join(', ')}\n`);
      }
      case '/status':
        return void readBridges().then((bridges) => {
          const servers = supervisor.statuses().map((server) => {
            const bridge = bridges.get(server.name);
            if (server.transport !== 'stdio') return server;
            return { ...server, stdio: bridge ? describeBridge(bridge) : null };
          });
          sendJson(res, 200, { servers, ...(controlSocket ? { controlSocket: controlSocket() } : {}), ...(cluster ? { cluster } : {}) });
        });
      case '/metrics':
        return void registry.metrics().then(
          (body) => sendBody(res, 200, registry.contentType, body),
          (error: Error) => sendBody(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${error.message}\n`),
        );
      default:
        return sendJson(res, 404, { error: 'not found', paths: ['/healthz', '/readyz', '/status', '/metrics'] });
    }
  };
}

function sendText(res: ServerResponse, status: number, body: string): void {
  sendBody(res, status, 'text/plain; charset=utf-8', body);
}

/** A stdio server's part of /status. */
function describeBridge(bridge: BridgeStatus) {
  return {
    sessions: bridge.sessions,
    processes: bridge.pids.length,
    warmProcesses: bridge.warmProcesses,
    sessionsOpened: bridge.sessionsOpened,
    sessionsEnded: bridge.sessionsEnded,
    sessionsRefused: bridge.sessionsRefused,
    sessionsRefusedBy: bridge.sessionsRefusedBy,
    clients: bridge.clients,
    ready: bridge.ready,
    reason: bridge.reason,
  };
}
