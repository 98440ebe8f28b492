/** Command-line words -> what to do. Pure: no I/O beyond reading `env` and checking a file exists. */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultControlSocket } from './admin/control-path.js';
import { BUNDLED_CONFIG } from './config/load.js';
import { BRIDGE_USAGE, parseBridgeCommand, type BridgeCommand } from './bridge/options.js';
import { UsageError } from './errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';

export const USAGE = `Usage:
  mcpmux [--config FILE] [--port N] [--admin-port N] [--log-level LEVEL] [--log-format json|pretty]
         [--watch-config] [--control-socket PATH]
  mcpmux check [--config FILE]
  mcpmux rollout SERVER [--control-socket PATH]   a new process for SERVER, the old one drained
  mcpmux reload [--control-socket PATH]           reload the config, as SIGHUP does
${BRIDGE_USAGE}

Config is looked for in this order: --config, $MCPMUX_CONFIG, ./mcpmux.yaml, the bundled default.
--watch-config (or MCPMUX_WATCH_CONFIG=1) reloads when the config file changes and has settled (a ConfigMap too).
The control socket is --control-socket, else $MCPMUX_CONTROL_SOCKET, else $XDG_RUNTIME_DIR/mcpmux/control.sock,
else /run/mcpmux/control.sock as root, else <tmpdir>/mcpmux-<uid>/control.sock (its directory made 0700).
Log levels: ${LOG_LEVELS.join(', ')}.`;

export interface Command {
  readonly action: 'run' | 'check' | 'help' | 'bridge' | 'rollout' | 'reload';
  /** With `rollout`: the server to roll. */
  readonly server?: string;
  readonly controlSocket: string;
  /** The control socket is the default one, in a directory of mcpmux's own (made if missing). */
  readonly controlSocketDefault: boolean;
  readonly watchConfig: boolean;
  /** With `bridge`. */
  readonly bridge?: BridgeCommand;
  readonly configFile: string;
  readonly listenPort?: number;
  readonly adminPort?: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

/** Who runs it, for the default control socket. */
export interface Host {
  readonly uid: number;
  readonly tmpdir: string;
}

export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string, host: Host = { uid: process.geteuid?.() ?? 0, tmpdir: tmpdir() }): Command {
  if (argv[0] === 'bridge') {
    const bridge = parseBridgeCommand(argv.slice(1), env, cwd);
    const logLevel = (bridge.logLevel ?? env.LOG_LEVEL ?? 'info') as LogLevel;
    if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
    return { action: 'bridge', bridge, configFile: '', logLevel, logFormat: 'json', controlSocket: '', controlSocketDefault: false, watchConfig: false };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'control-socket': { type: 'string' },
        'watch-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [verb, ...rest] = positionals;
  const known = verb === undefined || ((verb === 'check' || verb === 'reload') && rest.length === 0) || (verb === 'rollout' && rest.length === 1);
  if (!known) {
    throw new UsageError(verb === 'rollout' ? 'rollout takes one server name: mcpmux rollout SERVER' : `unknown command: ${positionals.join(' ')}`);
  }
  const logLevel = (values['log-level'] ?? env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const logFormat = (values['log-format'] ?? 'json') as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got "${logFormat}"`);
  const chosenSocket = values['control-socket'] ?? env.MCPMUX_CONTROL_SOCKET;
  return {
    action: values.help ? 'help' : verb === 'check' || verb === 'rollout' || verb === 'reload' ? verb : 'run',
    ...(verb === 'rollout' ? { server: rest[0] } : {}),
    controlSocket: path.resolve(cwd, chosenSocket || defaultControlSocket(env, host.uid, host.tmpdir)),
    controlSocketDefault: !chosenSocket,
    watchConfig: values['watch-config'] === true || env.MCPMUX_WATCH_CONFIG === '1' || env.MCPMUX_WATCH_CONFIG === 'true',
    configFile: findConfigFile(values.config, env, cwd),
    listenPort: parsePort('--port', values.port),
    adminPort: parsePort('--admin-port', values['admin-port']),
    logLevel,
    logFormat,
  };
}

function findConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (flag) return path.resolve(cwd, flag);
  if (env.MCPMUX_CONFIG) return path.resolve(cwd, env.MCPMUX_CONFIG);
  const local = path.resolve(cwd, 'mcpmux.yaml');
  return existsSync(local) ? local : BUNDLED_CONFIG;
}

function parsePort(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  return port;
}
