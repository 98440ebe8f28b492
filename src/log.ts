/**
 * Logs: pino JSON lines on stdout, one record per event. This file subscribes to lifecycle events;
 * the code that emits them does not know it exists.
 */
import { pino, type Logger } from 'pino';
import type { Events } from './events.js';
import type { LogDestination } from './log-destination.js';

/** A client-controlled field (the path) is cut here in the access log: a record stays small. */
export const MAX_LOGGED_PATH = 1024;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * JSON lines on `destination` (stdout, bounded; see log-destination.ts); `pretty` (pino-pretty,
 * loaded only then) is for humans at a terminal, and writes to it directly.
 */
export async function createLogger(level: LogLevel = 'info', format: LogFormat = 'json', destination?: LogDestination): Promise<Logger> {
  const options = {
    level,
    base: { name: 'mcpmux' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'json') return destination ? pino(options, destination) : pino(options);
  const { default: pretty } = await import('pino-pretty');
  return pino({ ...options, formatters: {} }, pretty({ colorize: process.stdout.isTTY, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss.l' }));
}

/**
 * Writes one record per lifecycle event. The stdout of the servers named in `bridged` (stdio
 * servers, whose process is mcpmux's own bridge) holds the bridge's records, lifted as they are.
 */
export function subscribeLogging(events: Events, log: Logger, bridgedServers: ReadonlySet<string> = new Set()): void {
  events.on('output', ({ server, stream, line, truncated }) => {
    const bridged = stream === 'stdout' && !truncated && bridgedServers.has(server) ? parseBridgeRecord(line) : undefined;
    if (bridged) log[bridged.level]({ ...bridged.fields, server, bridge: true }, bridged.msg);
    else log.info(truncated ? { server, stream, truncated } : { server, stream }, line);
  });
  events.on('output-dropped', ({ server, lines }) => log.warn({ server, dropped: lines }, 'output dropped: the server wrote more lines than its budget'));
  events.on('process-started', ({ server, pid, port }) => log.info({ server, pid, port }, 'process started'));
  events.on('process-spawn-failed', ({ server, error }) => log.error({ server, error }, 'process could not be started'));
  events.on('process-exited', ({ server, pid, code, signal, expected }) =>
    (expected ? log.info.bind(log) : log.warn.bind(log))({ server, pid, code, signal }, 'process exited'),
  );
  events.on('state-changed', ({ server, from, to, reason }) => {
    const message = to === 'ready' ? 'server ready' : to === 'unready' ? 'server unready' : `server ${to}`;
    log.info({ server, from, to, reason }, message);
  });
  events.on('probe-result', ({ server, role, kind, outcome, message, durationMs }) => {
    if (outcome === 'success') log.trace({ server, probe: role, kind, durationMs }, 'probe passed');
    else log.debug({ server, probe: role, kind, outcome, result: message, durationMs }, 'probe failed');
  });
  events.on('restart-scheduled', ({ server, delayMs, reason, attempt }) => log.warn({ server, delayMs, reason, attempt }, 'restarting'));
  events.on('upstream-error', (fields) => log.warn(fields, 'upstream error'));
  // A forged id is in the access log already (a 404); a pod gone or a loop says something about the cluster.
  events.on('session-relay', ({ server, result, owner }) => {
    if (result === 'owner_gone') log.info({ server, owner }, "a session's owner pod is gone: its client gets 404 and starts a new session");
    else if (result === 'owner_refused') log.warn({ server, owner }, 'a sealed session id names an owner outside cluster.peers: refused');
    else if (result === 'loop') log.error({ server }, 'a relayed request reached a pod that does not own its session: check that cluster.advertiseAddress is this pod\'s own address on every pod');
  });
  events.on('key-set-fetch', ({ issuer, kind, result, error }) => {
    if (result === 'error') log.warn({ issuer, kind, error }, kind === 'jwks' ? "cannot fetch an issuer's key set: tokens it signed with keys not held get 503" : "cannot read an issuer's metadata to find its key set");
  });
  // The access log is built only when it is written: at warn and above it costs nothing per request.
  if (log.isLevelEnabled('info')) events.on('request-finished', ({ server, method, path, status, durationMs, bytes, session, pid, owner, relayedBy, clientId, subject, aborted, mcp, mcpError, traceId }) => {
    const logged = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
    const record: Record<string, unknown> = { server, method, path: logged, status, durationMs: Math.round(durationMs * 100) / 100, bytes };
    if (session) record.session = session;
    if (pid !== undefined) record.pid = pid;
    // Sessions across pods: relayed to its owner, or relayed here by a peer.
    if (owner !== undefined) record.owner = owner;
    if (relayedBy !== undefined) record.relayedBy = relayedBy;
    // Who called, on an OAuth route: the token's client, and its subject when auth.oauth.logSubject says so.
    if (clientId !== undefined) record.clientId = clientId;
    if (subject !== undefined) record.subject = subject;
    // The call, never its arguments (Mcp-Param-* values) nor the body.
    if (mcp) {
      record.mcpMethod = mcp.method;
      if (mcp.name !== undefined) record.mcpName = mcp.name;
      if (mcp.protocol !== undefined) record.protocol = mcp.protocol;
      if (mcpError) record.mcpError = mcpError;
    }
    if (aborted) record.aborted = true;
    // With tracing on, a sampled request's trace: from its log line to its trace.
    if (traceId !== undefined) record.traceId = traceId;
    log.info(record, 'request');
  });
  events.on('endpoint-ready', ({ server, endpoint }) => log.debug({ server, pid: endpoint.pid, port: endpoint.port }, 'endpoint ready'));
  events.on('endpoint-draining', ({ server, endpoint }) => log.info({ server, pid: endpoint.pid, inFlight: endpoint.inFlight, sessions: endpoint.sessions }, 'process draining'));
  events.on('process-drained', ({ server, pid, idle, inFlight, sessions }) =>
    idle ? log.info({ server, pid }, 'process drained') : log.warn({ server, pid, inFlight, sessions }, 'drainSeconds ran out: stopping the process with work left'),
  );
  events.on('reload-applied', ({ trigger, actions }) => {
    for (const { server, action, fields } of actions) log.info({ server, action, ...(fields ? { fields } : {}), trigger }, `reload: ${RELOAD_WORDS[action] ?? action}`);
    log.info({ trigger, servers: actions.length }, actions.length === 0 ? 'reload: nothing changed' : 'reload applied');
  });
  events.on('reload-failed', ({ trigger, problems }) => {
    for (const { path, message } of problems) log.error({ trigger, path, problem: message }, `reload refused: ${path || '(root)'}: ${message}`);
    log.error({ trigger, problems: problems.length }, 'reload refused: nothing changed');
  });
  events.on('rollout-finished', ({ server, trigger, ok, pid, reason }) =>
    ok ? log.info({ server, trigger, pid }, 'rollout finished: the new process serves') : log.error({ server, trigger, reason }, 'rollout failed: the old process keeps serving'),
  );
  events.on('rollout-refused', ({ server, trigger, reason }) => log.warn({ server, trigger, reason }, 'rollout refused: another rollout of the server is under way'));
  events.on('rollout-queued', ({ server, trigger, behind, replaced }) =>
    log.info({ server, trigger, behind, replaced }, replaced ? 'rollout queued: replaces the one waiting (the newest config wins)' : 'rollout queued: it starts once the rollout under way ends'),
  );
  events.on('listening', ({ listener, host, port }) => log.info({ listener, host, port }, 'listening'));
  events.on('shutdown-step', ({ step, ...fields }) => log.info({ step, ...fields }, `shutdown: ${step}`));
  events.on('internal-error', ({ where, error }) => log.error({ where, err: error }, 'internal error'));
}

/** What a reload does to a server, as the log says it. */
const RELOAD_WORDS: Record<string, string> = {
  start: 'server added, starting',
  remove: 'server removed, draining',
  update: 'route and policy changed, process kept',
  scale: 'replica count changed, the other replicas kept',
  rollout: 'process changed, rolling out a new one',
};

const BRIDGE_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * A record of `mcpmux bridge` (a stdio server's bridge, a child of mcpmux), lifted into mcpmux's
 * own log with its level and fields, instead of logged as a line of text. `server` stays mcpmux's.
 */
function parseBridgeRecord(line: string): { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; msg: string; fields: Record<string, unknown> } | undefined {
  if (!line.startsWith('{"level":')) return undefined;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { level, time: _time, name: _name, component, msg, ...fields } = record;
  if (component !== 'bridge' || typeof level !== 'string' || !BRIDGE_LEVELS.has(level)) return undefined;
  return { level: level as 'info', msg: typeof msg === 'string' ? msg : '', fields };
}
