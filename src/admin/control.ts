/**
 * The control socket's protocol: a Unix socket that only mcpmux's own user can open (mode 0600,
 * in a directory no other user can write: control-path.ts checks where), as supervisord's is, for
 * what must never be open to the network without auth: `mcpmux rollout NAME` (a new process for
 * one server, the old one drained) and `mcpmux reload`. In Kubernetes:
 * `kubectl exec deploy/mcp -- mcpmux rollout echo`.
 *
 *   POST /servers/NAME/rollout   200 {ok, pid} once the new process serves; 409 {ok, reason} failed;
 *                                409 {ok, busy: true, reason, running: {since, trigger}} at once while
 *                                another rollout of it runs; 404
 *   POST /reload                 200 {ok} applied (a rollout it needs may wait for one under way); 409 {ok, problems} refused
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { ConfigProblem } from '../errors.js';
import type { RolloutResult } from '../supervisor/managed-server.js';
import { sendJson } from '../answers.js';
import { claimSocketPath, type PathVerdict } from './control-path.js';

export interface ControlActions {
  rollout(server: string): Promise<RolloutResult | undefined>;
  reload(): { ok: true } | { ok: false; problems: readonly ConfigProblem[] };
}

/** Whether mcpmux has its control socket, for /status and the metrics; `reason` says why not. */
export interface ControlSocketState {
  readonly path: string;
  readonly listening: boolean;
  readonly reason?: string;
}

export interface ControlServer {
  readonly state: ControlSocketState;
  /** Stops listening, and removes the socket if it is still the one bound here. Safe to call twice. */
  close(): void;
}

const ROLLOUT = /^\/servers\/([a-z0-9][a-z0-9-]*)\/rollout$/;

/**
 * Listens on `socketPath` when control-path.ts finds it safe: a stale socket of our own is
 * replaced; a live one (another mcpmux), a symlink, anything else or another user's is left alone,
 * and this mcpmux then has no control socket. Never throws: the state says why it has none.
 */
export async function startControlServer(socketPath: string, actions: ControlActions, options: { readonly ownDirectory: boolean }): Promise<ControlServer> {
  const euid = process.geteuid!();
  const refuse = (reason: string): ControlServer => ({ state: { path: socketPath, listening: false, reason }, close: () => undefined });
  let claim: PathVerdict;
  try {
    claim = await claimSocketPath(socketPath, euid, options);
  } catch (error) {
    return refuse(`${socketPath} could not be checked (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!claim.ok) return refuse(claim.reason);
  const server = http.createServer((req, res) => {
    void answer(req, res, actions).catch((error: Error) => sendJson(res, 500, { ok: false, reason: error.message }));
  });
  try {
    await listenOwnerOnly(server, socketPath);
  } catch (error) {
    return refuse(`${socketPath} could not be bound (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const bound = lstatSync(socketPath);
  let closed = false;
  return {
    state: { path: socketPath, listening: true },
    close() {
      if (closed) return;
      closed = true;
      // libuv removes the socket as it closes; this only makes sure, and only of the socket bound here.
      server.close();
      const now = lstatSync(socketPath, { throwIfNoEntry: false });
      if (now?.isSocket() && now.ino === bound.ino && now.dev === bound.dev) unlinkSync(socketPath);
    },
  };
}

/**
 * Binds with a umask that leaves the socket to its owner from the first moment (the bind happens
 * within listen(), synchronously), then sets 0600 for good: connecting needs write permission.
 */
async function listenOwnerOnly(server: http.Server, socketPath: string): Promise<void> {
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', resolve);
  });
  const umask = process.umask(0o177);
  try {
    server.listen(socketPath);
  } finally {
    process.umask(umask);
  }
  await listening;
  chmodSync(socketPath, 0o600);
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
