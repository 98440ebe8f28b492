/** The admin listener: /healthz, /readyz, /status. Never reachable through the public listener. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface AdminDeps {
  readonly supervisor: Supervisor;
  /** True once a graceful stop has begun: /readyz turns 503 at once. */
  readonly isStopping: () => boolean;
}

export function createAdminHandler({ supervisor, isStopping }: AdminDeps) {
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
        return sendJson(res, 200, { servers: supervisor.statuses() });
      default:
        return sendJson(res, 404, { error: 'not found', paths: ['/healthz', '/readyz', '/status'] });
    }
  };
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
