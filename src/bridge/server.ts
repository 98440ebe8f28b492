/**
 * `mcpmux bridge`: a stdio MCP server served as streamable HTTP on one port, one process per MCP
 * session. A POST of `initialize` without a session opens one: a warm process is taken (or started)
 * and the SDK's streamable HTTP transport serves the session; the session's id routes every later
 * request to it. Besides the MCP path: /healthz (the bridge is up), /readyz (a process of this
 * server can answer, see readiness.ts) and /status (sessions and processes, as JSON).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import { LineBudget } from '../supervisor/output.js';
import type { ClientSession, SessionEnd } from './client-session.js';
import { createIsolatedMode, createSharedMode, type BridgedSession, type SessionMode } from './modes.js';
import { SessionTable } from './session-table.js';
import { startStdioProcess, type StdioCommand, type StdioProcess, type StdoutProblem } from './stdio-process.js';
import { sendJson, sendRefusal } from '../answers.js';
import { readJsonBody, sendLegacyServerError } from './replies.js';

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
}

export interface Bridge {
  readonly address: AddressInfo;
  status(): BridgeStatus;
  /** Ends every session and stops every process; resolves when none is left. Safe to call twice. */
  stop(): Promise<void>;
}

/** How often idle sessions are looked for, at most. */
const REAP_INTERVAL_MS = 5000;

export async function startBridge(options: BridgeOptions, log: Logger, onFatal: (reason: string) => void = () => undefined): Promise<Bridge> {
  const sessions = new SessionTable(options.maxSessions, log);
  const budget = new LineBudget();

  const logProblem = (pid: number, problem: StdoutProblem, session?: string) => {
    if (problem.kind === 'not-json') log.warn({ pid, session, stream: 'stdout', line: problem.line }, 'stdout line is not a JSON-RPC message: ignored');
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
  const context = { log, startProcess, logProblem, warmProcesses: options.warmProcesses, initializeTimeoutMs: options.initializeTimeoutSeconds * 1000, onFatal };
  const mode: SessionMode = options.sessions === 'shared' ? createSharedMode(context) : createIsolatedMode(context);

  const openSession = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    if (!sessions.makeRoom()) {
      return sendRefusal(res, 'sessions_full', `this server has ${options.maxSessions} sessions open, its maximum; retry later`);
    }
    let session: BridgedSession | undefined;
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (id) => sessions.add(id, session!) });
    try {
      session = await sessions.opening(() => mode.open(transport, sessions.onEnded));
    } catch (error) {
      log.error({ err: error }, 'no process for a new session');
      return sendRefusal(res, 'not_ready', `no process of this server could be had: ${(error as Error).message}`);
    }
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

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply =
      path === options.path
        ? handleMcp(req, res)
        : path === '/healthz'
          ? sendJson(res, 200, { status: 'ok' })
          : path === '/readyz'
            ? sendJson(res, mode.ready ? 200 : 503, { ready: mode.ready, reason: mode.reason })
            : path === '/status'
              ? sendJson(res, 200, status())
              : sendJson(res, 404, { error: `not found; the MCP endpoint is ${options.path}` });
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
