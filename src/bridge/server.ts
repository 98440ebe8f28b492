/**
 * `mcpmux bridge`: a stdio MCP server served as streamable HTTP on one port, one process per MCP
 * session. A POST of `initialize` without a session opens one: a warm process is taken (or started)
 * and the SDK's streamable HTTP transport serves the session; the session's id routes every later
 * request to it. Who gets a session slot is the session table's call (session-table.ts: a rate
 * and a cap per client, fair shares at the cap). Besides the MCP path, the bridge's own endpoints:
 * /healthz (the bridge is up), /readyz (a process of this server can answer, see readiness.ts)
 * and /status (sessions and processes, as JSON). Under mcpmux they answer only a request that
 * carries the bridge's key (supervisor/bridge-key.ts): mcpmux's public route reaches this port
 * too, and gets a 404 for them like for any other path.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import { LineBudget } from '../supervisor/output.js';
import type { ClientSession, SessionEnd } from './client-session.js';
import { createIsolatedMode, createSharedMode, type BridgedSession, type SessionMode } from './modes.js';
import { SessionTable, type RefusedSession } from './session-table.js';
import type { SessionRate } from './client-rates.js';
import { CLIENT_HEADER, normalizeAddress } from '../proxy/client-identity.js';
import { BRIDGE_KEY_HEADER } from '../supervisor/bridge-key.js';
import { startStdioProcess, type StdioCommand, type StdioProcess, type StdoutProblem } from './stdio-process.js';
import { sendJson, sendRefusal } from '../answers.js';
import { readJsonBody, sendLegacyServerError } from './replies.js';
import { holdWrites } from './held-writes.js';
import { createMessageSpans, startSessionSpan } from '../tracing/message-spans.js';
import type { RequestTracing } from '../tracing/request-spans.js';

export interface BridgeOptions {
  readonly host: string;
  readonly port: number;
  /** The MCP endpoint's path. */
  readonly path: string;
  readonly command: StdioCommand;
  /** `isolated`: one process per session; `shared`: one process for every session. */
  readonly sessions: 'isolated' | 'shared';
  readonly warmProcesses: number;
  readonly maxSessions: number;
  readonly idleTimeoutSeconds: number;
  /** A session whose process has not answered `initialize` by then fails. */
  readonly initializeTimeoutSeconds: number;
  readonly maxMessageBytes: number;
  readonly graceSeconds: number;
  /** Sessions one client may hold at once; at it, its own idlest makes room. */
  readonly maxSessionsPerClient: number;
  /** How fast one client may open sessions. */
  readonly sessionRate: SessionRate;
  /** Who a request is from: mcpmux's `Mcpmux-Client` header (under mcpmux), else the peer's address. */
  readonly trustClientHeader: boolean;
  /** With a key, the bridge's own endpoints answer only requests that carry it (under mcpmux). */
  readonly ownKey: string | undefined;
}

export interface BridgeStatus {
  readonly ready: boolean;
  readonly reason: string;
  readonly sessions: number;
  readonly warmProcesses: number;
  /** Every live process: sessions' and warm ones. */
  readonly pids: number[];
  readonly sessionsOpened: number;
  readonly sessionsEnded: Partial<Record<SessionEnd, number>>;
  readonly sessionsRefused: number;
  /** Refused sessions by why: rate_limited, client_sessions_full, sessions_full. */
  readonly sessionsRefusedBy: Partial<Record<RefusedSession, number>>;
  /** Clients holding or opening sessions now. */
  readonly clients: number;
}

export interface Bridge {
  readonly address: AddressInfo;
  status(): BridgeStatus;
  /** Ends every session and stops every process; resolves when none is left. Safe to call twice. */
  stop(): Promise<void>;
}

/** How often idle sessions are looked for, at most. */
const REAP_INTERVAL_MS = 5000;

/** With tracing on: the tracer and the server's name, for the bridge's spans (tracing/message-spans.ts). */
export interface BridgeTracing {
  readonly tracing: RequestTracing;
  readonly server: string;
}

export async function startBridge(options: BridgeOptions, log: Logger, onFatal: (reason: string) => void = () => undefined, traced?: BridgeTracing): Promise<Bridge> {
  const spans = traced && (() => createMessageSpans(traced.tracing, traced.server));
  const sessions = new SessionTable({ maxSessions: options.maxSessions, maxSessionsPerClient: options.maxSessionsPerClient, sessionRate: options.sessionRate }, log);
  const budget = new LineBudget();

  const logProblem = (pid: number, problem: StdoutProblem, session?: string) => {
    if (problem.kind === 'not-json') log.warn({ pid, session, stream: 'stdout', line: problem.line, ...(problem.dropped > 0 && { droppedBefore: problem.dropped }) }, 'stdout line is not a JSON-RPC message: ignored');
    else if (problem.kind === 'dropped') log.warn({ pid, session, stream: 'stdout', dropped: problem.lines }, 'stdout lines that went nowhere, past the budget: dropped unlogged');
    else log.error({ pid, session, stream: 'stdout', bytes: problem.bytes }, `stdout message over the limit of ${options.maxMessageBytes} bytes: the session fails`);
  };
  const startProcess = async (): Promise<StdioProcess> => {
    let pid = 0;
    const started = await startStdioProcess({
      command: options.command,
      maxMessageBytes: options.maxMessageBytes,
      graceSeconds: options.graceSeconds,
      budget,
      onOutput: (stream, line) => log.info({ pid, stream }, line),
      onUnattachedProblem: (problem) => logProblem(pid, problem),
    });
    pid = started.pid;
    log.debug({ pid }, 'process started');
    return started;
  };
  const context = { log, startProcess, logProblem, warmProcesses: options.warmProcesses, initializeTimeoutMs: options.initializeTimeoutSeconds * 1000, onFatal, spans };
  const mode: SessionMode = options.sessions === 'shared' ? createSharedMode(context) : createIsolatedMode(context);

  const openSession = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    const client = clientOf(req, options.trustClientHeader);
    const admission = sessions.admit(client);
    if (!admission.ok) return sendRefusal(res, admission.reason, admission.message, { retryAfterSeconds: admission.retryAfterSeconds });
    let session: BridgedSession | undefined;
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (id) => sessions.add(id, session!, client) });
    const opened = traced && startSessionSpan(traced.tracing, traced.server, req.headers);
    try {
      session = await sessions.opening(client, () => mode.open(transport, sessions.onEnded));
      opened?.();
    } catch (error) {
      opened?.(error as Error);
      log.error({ err: error }, 'no process for a new session');
      return sendRefusal(res, 'not_ready', `no process of this server could be had: ${(error as Error).message}`);
    }
    session.client.watch(res);
    holdWrites(res);
    await transport.handleRequest(req, res, body);
    // A request the transport refused (bad headers, say) opened no session.
    if (!sessions.has(session)) await session.end('stopped');
  };

  const handleMcp = async (req: IncomingMessage, res: ServerResponse) => {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = sessions.get(id);
      if (!session) return sendLegacyServerError(res, 404, -32001, 'Session not found');
      if (req.method === 'GET') trackStream(res, session.client);
      else if (req.method === 'POST') holdWrites(res);
      session.client.watch(res);
      return session.client.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return sendLegacyServerError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const body = await readJsonBody(req, res, options.maxMessageBytes);
    if (body === undefined) return;
    if (!isInitialize(body)) return sendLegacyServerError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required; a session starts with initialize');
    return openSession(req, res, body);
  };

  const status = (): BridgeStatus => ({
    ready: mode.ready,
    reason: mode.reason,
    sessions: sessions.size,
    warmProcesses: mode.warmProcesses(),
    pids: mode.pids(),
    ...sessions.counts(),
  });

  const ownKey = options.ownKey === undefined ? undefined : Buffer.from(options.ownKey);
  /** The bridge's own endpoints: with a key, only for a request that carries it. */
  const mayAskOwn = (req: IncomingMessage) => {
    if (!ownKey) return true;
    const given = req.headers[BRIDGE_KEY_HEADER];
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === ownKey.length && timingSafeEqual(bytes, ownKey);
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const own = path === '/healthz' || path === '/readyz' || path === '/status';
    const reply =
      path === options.path
        ? handleMcp(req, res)
        : own && !mayAskOwn(req)
          ? notFound(res, options.path)
          : path === '/healthz'
          ? sendJson(res, 200, { status: 'ok' })
          : path === '/readyz'
            ? sendJson(res, mode.ready ? 200 : 503, { ready: mode.ready, reason: mode.reason })
            : path === '/status'
              ? sendJson(res, 200, status())
              : notFound(res, options.path);
    Promise.resolve(reply).catch((error: unknown) => {
      log.error({ err: error }, 'request failed');
      sendRefusal(res, 'internal', 'internal error');
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port, path: options.path, sessions: options.sessions, command: options.command.command }, 'listening');
  mode.start();

  const reaper = setInterval(() => sessions.reap(options.idleTimeoutSeconds * 1000), Math.min(REAP_INTERVAL_MS, options.idleTimeoutSeconds * 250)).unref();

  let stopping: Promise<void> | undefined;
  return {
    address,
    status,
    stop() {
      stopping ??= (async () => {
        clearInterval(reaper);
        server.close();
        await Promise.all([...[...sessions.values()].map((s) => s.end('stopped')), mode.stop()]);
        server.closeAllConnections();
      })();
      return stopping;
    },
  };
}

function notFound(res: ServerResponse, mcpPath: string): void {
  sendJson(res, 404, { error: `not found; the MCP endpoint is ${mcpPath}` });
}

/** Who a request is from: mcpmux's word for it, when the bridge runs under mcpmux; else the peer. */
function clientOf(req: IncomingMessage, trustHeader: boolean): string {
  const said = trustHeader ? req.headers[CLIENT_HEADER] : undefined;
  if (typeof said === 'string' && said.length > 0 && said.length <= 256) return said;
  return normalizeAddress(req.socket.remoteAddress ?? '');
}

/** True for an initialize request, alone or in a batch. */
function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => m !== null && typeof m === 'object' && (m as { method?: unknown }).method === 'initialize');
}

/** The session's GET stream counts as open once the transport has answered it with 200, until it closes. */
function trackStream(res: ServerResponse, session: ClientSession): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    const result = writeHead(...args);
    if (res.statusCode === 200) {
      session.streamOpened();
      res.once('close', () => session.streamClosed());
    }
    return result;
  };
}
