/**
 * The control socket: a Unix socket that only mcpmux's own user can open (mode 0600), as
 * supervisord's is, for what must never be open to the network without auth: `mcpmux rollout NAME`
 * (a new process for one server, the old one drained) and `mcpmux reload`. In Kubernetes:
 * `kubectl exec deploy/mcp -- mcpmux rollout echo`.
 *
 *   POST /servers/NAME/rollout   200 {ok, pid} once the new process serves; 409 {ok, reason} failed;
 *                                409 {ok, busy: true, reason, running: {since, trigger}} at once while
 *                                another rollout of it runs; 404
 *   POST /reload                 200 {ok} applied (a rollout it needs may wait for one under way); 409 {ok, problems} refused
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { ConfigProblem } from '../errors.js';
import type { RolloutResult } from '../supervisor/managed-server.js';
import { sendJson } from '../answers.js';

export interface ControlActions {
  rollout(server: string): Promise<RolloutResult | undefined>;
  reload(): { ok: true } | { ok: false; problems: readonly ConfigProblem[] };
}

const ROLLOUT = /^\/servers\/([a-z0-9][a-z0-9-]*)\/rollout$/;

/**
 * Listens on `socketPath`. A stale socket (its mcpmux gone) is replaced; a live one (another
 * mcpmux) is left alone, and this one then has no control socket: resolves undefined.
 */
export async function startControlServer(socketPath: string, actions: ControlActions): Promise<http.Server | undefined> {
  if (existsSync(socketPath)) {
    if (await isListening(socketPath)) return undefined;
    unlinkSync(socketPath);
  }
  const server = http.createServer((req, res) => {
    void answer(req, res, actions).catch((error: Error) => sendJson(res, 500, { ok: false, reason: error.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  // Owner-only: no other user, and nothing on the network, can reach it. (Connecting needs write
  // permission, which the usual umask already keeps to the owner until this narrows it further.)
  chmodSync(socketPath, 0o600);
  server.on('close', () => {
    if (existsSync(socketPath)) unlinkSync(socketPath);
  });
  return server;
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, actions: ControlActions): Promise<void> {
  if (req.method !== 'POST') return sendJson(res, 405, { ok: false, reason: 'POST only' }, { allow: 'POST' });
  const url = req.url ?? '/';
  const rollout = ROLLOUT.exec(url);
  if (rollout) {
    const result = await actions.rollout(rollout[1]!);
    if (!result) return sendJson(res, 404, { ok: false, reason: `no server named ${rollout[1]}` });
    return sendJson(res, result.ok ? 200 : 409, result);
  }
  if (url === '/reload') {
    const result = actions.reload();
    return sendJson(res, result.ok ? 200 : 409, result);
  }
  return sendJson(res, 404, { ok: false, reason: 'not found; POST /servers/NAME/rollout or /reload' });
}

function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The client side, for `mcpmux rollout NAME` and `mcpmux reload`: the answer's status and body. */
export function sendControl(socketPath: string, requestPath: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: requestPath, method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.once('error', reject);
    req.end();
  });
}
