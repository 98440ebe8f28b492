/** `mcpmux bridge [options] -- COMMAND [ARGS...]` -> BridgeOptions. Pure: reads only argv and env. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { BridgeOptions } from './server.js';
import { BRIDGE_KEY_ENV } from '../supervisor/bridge-key.js';
import { readBridgeTracing, TRACING_ENV } from '../tracing/bridge-env.js';
import type { ResolvedTracing } from '../tracing/settings.js';

/** The defaults, as the README gives them. A session holds a process, hence tighter than the Python SDK's in-process 30 min and 10,000. */
export const BRIDGE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  path: '/mcp',
  sessions: 'isolated',
  warmProcesses: 1,
  maxSessions: 32,
  idleTimeoutSeconds: 600,
  initializeTimeoutSeconds: 60,
  maxMessageBytes: 8 * 1024 * 1024,
  graceSeconds: 10,
  sessionsPerSecond: 5,
  sessionBurst: 20,
} as const;

export const BRIDGE_USAGE = `  mcpmux bridge [--host H] [--port N] [--path /mcp] [--sessions isolated|shared] [--warm N] [--max-sessions N]
                [--idle-timeout S] [--initialize-timeout S] [--max-message-bytes N] [--grace S]
                [--max-sessions-per-client N] [--session-rate PER_SECOND] [--session-burst N]
                [--trust-client-header] [--log-level LEVEL] -- COMMAND [ARGS...]
      Serves a stdio MCP server as streamable HTTP: one process per session (isolated),
      or one process for every session (shared).
      --host and --port default to $HOST and $PORT, else ${BRIDGE_DEFAULTS.host}:${BRIDGE_DEFAULTS.port}.`;

export interface BridgeCommand {
  readonly options: BridgeOptions;
  readonly logLevel: string | undefined;
  /** mcpmux's tracing, handed down in MCPMUX_TRACING (tracing/bridge-env.ts): settings when on, and what could not be read. */
  readonly tracing: ResolvedTracing;
}

export function parseBridgeCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): BridgeCommand {
  const split = argv.indexOf('--');
  if (split === -1 || split === argv.length - 1) throw new UsageError('bridge: give the stdio server\'s command after "--", e.g. mcpmux bridge -- npx -y @modelcontextprotocol/server-memory');
  let values;
  try {
    ({ values } = parseArgs({
      args: argv.slice(0, split),
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        path: { type: 'string' },
        sessions: { type: 'string' },
        warm: { type: 'string' },
        'max-sessions': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'initialize-timeout': { type: 'string' },
        'max-message-bytes': { type: 'string' },
        grace: { type: 'string' },
        'max-sessions-per-client': { type: 'string' },
        'session-rate': { type: 'string' },
        'session-burst': { type: 'string' },
        'trust-client-header': { type: 'boolean' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`bridge: ${(error as Error).message}`);
  }
  const [command, ...args] = argv.slice(split + 1);
  const maxSessions = integer('--max-sessions', values['max-sessions'], BRIDGE_DEFAULTS.maxSessions, 1, 100_000);
  const sessions = values.sessions ?? BRIDGE_DEFAULTS.sessions;
  if (sessions !== 'isolated' && sessions !== 'shared') throw new UsageError(`bridge: --sessions must be isolated or shared, got "${sessions}"`);
  const path = values.path ?? BRIDGE_DEFAULTS.path;
  if (!path.startsWith('/')) throw new UsageError(`bridge: --path must start with "/", got "${path}"`);
  // The bridge's own environment is the stdio server's: under mcpmux, that is the server's env.
  // The bridge's key (mcpmux's, for the bridge's own endpoints) and its tracing are the bridge's alone.
  const { PORT: _port, HOST: _host, [BRIDGE_KEY_ENV]: ownKey, [TRACING_ENV]: _tracing, ...childEnv } = env;
  return {
    logLevel: values['log-level'],
    tracing: readBridgeTracing(env),
    options: {
      host: values.host ?? env.HOST ?? BRIDGE_DEFAULTS.host,
      port: integer('--port', values.port ?? env.PORT, BRIDGE_DEFAULTS.port, 0, 65535),
      path,
      command: { command: command!, args, cwd, env: definedOnly(childEnv) },
      sessions,
      warmProcesses: integer('--warm', values.warm, BRIDGE_DEFAULTS.warmProcesses, 0, 64),
      maxSessions,
      idleTimeoutSeconds: seconds('--idle-timeout', values['idle-timeout'], BRIDGE_DEFAULTS.idleTimeoutSeconds),
      initializeTimeoutSeconds: seconds('--initialize-timeout', values['initialize-timeout'], BRIDGE_DEFAULTS.initializeTimeoutSeconds),
      maxMessageBytes: integer('--max-message-bytes', values['max-message-bytes'], BRIDGE_DEFAULTS.maxMessageBytes, 1024, 1024 ** 3),
      graceSeconds: seconds('--grace', values.grace, BRIDGE_DEFAULTS.graceSeconds, 0),
      // Unset: as many as maxSessions (the fair-share rule decides once the server is full).
      maxSessionsPerClient: integer('--max-sessions-per-client', values['max-sessions-per-client'], maxSessions, 1, 100_000),
      sessionRate: {
        perSecond: seconds('--session-rate', values['session-rate'], BRIDGE_DEFAULTS.sessionsPerSecond, Number.MIN_VALUE, 'a number of sessions a second'),
        burst: integer('--session-burst', values['session-burst'], BRIDGE_DEFAULTS.sessionBurst, 1, 100_000),
      },
      trustClientHeader: values['trust-client-header'] === true,
      ownKey: ownKey === undefined || ownKey === '' ? undefined : ownKey,
    },
  };
}

function integer(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`bridge: ${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

function seconds(flag: string, value: string | undefined, fallback: number, min = Number.MIN_VALUE, what = 'a number of seconds'): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`bridge: ${flag} must be ${what}${min === 0 ? ' (0 or more)' : ' greater than 0'}, got "${value}"`);
  return n;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
