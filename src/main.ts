#!/usr/bin/env node
/** CLI: parse args, load config, build the app, wire signals to app.stop(). */
import type { ControlSocketState } from './admin/control.js';
import type { App, ReloadResult } from './app.js';
import { parseCommand, USAGE, type Command } from './cli.js';
import { loadConfigFile } from './config/load.js';
import type { Config } from './config/schema.js';
import { ConfigError, McpmuxError, UsageError } from './errors.js';
import { createLogger } from './log.js';
import { createLogDestination, type LogDestination } from './log-destination.js';
import { describeTracing } from './tracing/app-tracing.js';
import { resolveTracing } from './tracing/settings.js';

const EXIT_OK = 0;
const EXIT_FATAL = 1;
const EXIT_USAGE = 2;
/** How long an exit waits for stdout to take the last records: a stalled reader never holds a stop. */
const LOG_FLUSH_MS = 1000;

let logDestination: LogDestination | undefined;

async function main(): Promise<number> {
  let command: Command;
  let config: Config;
  try {
    command = parseCommand(process.argv.slice(2), process.env, process.cwd());
    if (command.action === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (command.action === 'bridge') {
      logDestination = createLogDestination();
      // Loaded only here, as app.js is only for mcpmux itself: a bridge (one per stdio server) stays small.
      const { runBridge } = await import('./bridge/run.js');
      const log = (await createLogger(command.logLevel, 'json', logDestination)).child({ component: 'bridge' });
      for (const warning of command.bridge!.tracing.warnings) log.warn(warning);
      return runBridge(command.bridge!.options, log, command.bridge!.tracing.settings);
    }
    if (command.action === 'rollout' || command.action === 'reload') return await control(command);
    config = loadConfigFile(command.configFile, { overrides: { listenPort: command.listenPort, adminPort: command.adminPort } });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  if (command.action === 'check') {
    process.stdout.write(formatPlan(config));
    return EXIT_OK;
  }
  return run(config, command);
}

/**
 * `mcpmux rollout SERVER` and `mcpmux reload`: asks the running mcpmux over its control socket,
 * once sure that it is a socket of this user's, where no other user can have put it.
 */
async function control(command: Command): Promise<number> {
  const { sendControl } = await import('./admin/control.js');
  const { checkSocketToConnect } = await import('./admin/control-path.js');
  const safe = checkSocketToConnect(command.controlSocket, process.geteuid!());
  if (!safe.ok && !safe.missing) {
    process.stderr.write(`mcpmux: refusing to talk to the control socket ${command.controlSocket}: ${safe.reason}; it may not be your mcpmux's\n`);
    return EXIT_FATAL;
  }
  const requestPath = command.action === 'rollout' ? `/servers/${encodeURIComponent(command.server!)}/rollout` : '/reload';
  let answer: Awaited<ReturnType<typeof sendControl>>;
  try {
    answer = await sendControl(command.controlSocket, requestPath);
  } catch (error) {
    process.stderr.write(`mcpmux: no mcpmux answers on ${command.controlSocket} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is it running, with this --control-socket?\n`);
    return EXIT_FATAL;
  }
  const { body } = answer;
  if (command.action === 'rollout') {
    if (body.ok) process.stdout.write(`${command.server}: rolled out; process ${String(body.pid)} serves, the old one drains\n`);
    else process.stderr.write(`${command.server}: ${String(body.reason)}\n`);
  } else if (body.ok) process.stdout.write('reloaded\n');
  else process.stderr.write(`reload refused, nothing changed:\n${(body.problems as { path: string; message: string }[]).map((p) => `${p.path || '(root)'}: ${p.message}`).join('\n')}\n`);
  return body.ok ? EXIT_OK : EXIT_FATAL;
}

export function formatPlan(config: Config, env: NodeJS.ProcessEnv = process.env): string {
  const tracing = resolveTracing(config.tracing, env);
  const lines = [
    `config: ${config.source}`,
    `public: ${config.listen.host}:${config.listen.port}`,
    `admin:  ${config.admin.host}:${config.admin.port}`,
    ...(tracing.settings ? [describeTracing(tracing.settings)] : []),
    ...tracing.warnings.map((warning) => `tracing: warning: ${warning}`),
    'servers:',
  ];
  for (const s of config.servers) {
    const how = (s.transport === 'stdio' ? `stdio, ${s.stdio?.sessions} sessions` : `port ${s.port}`) + (s.replicas > 1 ? `, ${s.replicas} replicas` : '');
    lines.push(`  ${s.name}  ${s.prefix}  ${how}  ${[s.command, ...s.args].join(' ')}  (cwd ${s.cwd})`);
    const auth = describeAuth(s);
    if (auth) lines.push(`    ${auth}`);
  }
  return `${lines.join('\n')}\nconfig is valid\n`;
}

/** What `mcpmux check` says of a route's auth: who may call it, and under which policy. */
function describeAuth(server: Config['servers'][number]): string | undefined {
  const { auth, policy } = server;
  if (!auth) return undefined;
  const kinds = [
    ...(auth.tokens.length > 0 ? [`${auth.tokens.length} bearer token${auth.tokens.length > 1 ? 's' : ''}`] : []),
    ...(auth.oauth ? [`oauth: issuer ${auth.oauth.issuer}, audience ${auth.oauth.audiences.join(' ')}`] : []),
  ];
  const rules = policy ? Object.keys(policy.tools).length + Object.keys(policy.prompts).length + Object.keys(policy.resources).length : 0;
  const described = policy ? `; policy: scopes [${policy.scopes.join(' ')}], ${rules} rule${rules === 1 ? '' : 's'}` : '';
  return `auth: ${kinds.join(', or ')}${described}`;
}

async function run(config: Config, command: Command): Promise<number> {
  logDestination = createLogDestination();
  const log = await createLogger(command.logLevel, command.logFormat, logDestination);
  log.info({ config: config.source, servers: config.servers.map((s) => s.name), pid: process.pid }, 'starting');
  if (process.pid === 1) {
    log.warn('running as PID 1: orphaned grandchildren will not be reaped; run mcpmux under tini (the image does, or docker run --init)');
  }
  let app: App | undefined;
  let controlSocket: ControlSocketState = { path: command.controlSocket, listening: false, reason: 'mcpmux is starting' };
  let signals = 0;
  let resolveExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));

  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (!app) return; // still starting: the stop runs as soon as startApp returns
    if (signals === 1) {
      log.info({ signal }, 'graceful stop requested');
      app.stop().then(() => resolveExit(EXIT_OK), (error) => {
        log.error({ err: error }, 'graceful stop failed');
        resolveExit(EXIT_FATAL);
      });
    } else {
      log.warn({ signal }, 'second signal: forcing the stop');
      void app.forceStop().finally(() => resolveExit(EXIT_FATAL));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const overrides = { listenPort: command.listenPort, adminPort: command.adminPort };
  /** Load, validate, diff, apply: a config that fails validation changes nothing, and says why. */
  const reload = (trigger: string): ReloadResult => {
    if (!app) {
      log.warn({ trigger }, 'reload: still starting; nothing changed');
      return { ok: false, problems: [{ path: '', message: 'mcpmux is still starting' }] };
    }
    let next: Config;
    try {
      next = loadConfigFile(command.configFile, { overrides });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      app.events.emit('reload-failed', { trigger, problems: error.problems });
      return { ok: false, problems: error.problems };
    }
    return app.reload(next, trigger);
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception: stopping');
    void (app?.forceStop() ?? Promise.resolve()).finally(() => exit(EXIT_FATAL));
  });

  try {
    const destination = logDestination;
    const { startApp } = await import('./app.js');
    app = await startApp(config, log, { droppedLogRecords: () => destination.dropped, controlSocket: () => controlSocket });
  } catch (error) {
    if (error instanceof McpmuxError) {
      log.fatal({ err: error, code: error.code }, error.message);
      return EXIT_FATAL;
    }
    throw error;
  }
  if (signals > 0) {
    await app.stop();
    return EXIT_OK;
  }
  const started = app;
  const { startControlServer } = await import('./admin/control.js');
  const controlServer = await startControlServer(
    command.controlSocket,
    { rollout: (server) => started.rollout(server), reload: () => reload('control socket') },
    { ownDirectory: command.controlSocketDefault },
  );
  controlSocket = controlServer.state;
  if (controlSocket.listening) log.info({ socket: command.controlSocket }, 'control socket listening');
  else log.warn({ socket: command.controlSocket, reason: controlSocket.reason }, `no control socket: ${controlSocket.reason}; mcpmux rollout and mcpmux reload will not reach this mcpmux`);
  if (command.watchConfig) {
    const { watchConfigFile } = await import('./config/watch.js');
    const file = command.configFile;
    watchConfigFile(file, {
      onChange: () => reload('config file changed'),
      onError: (error) => log.warn({ err: error }, 'config watch failed'),
      onSame: () => log.debug({ file }, 'config file touched, content unchanged: no reload'),
      onUnsettled: (settleMs) => log.debug({ file, settleMs }, 'config file changed, not settled yet: read again before reloading'),
    });
    log.info({ file: command.configFile }, 'watching the config file');
  }
  const code = await exitCode;
  controlServer.close();
  return code;
}

/** Exits once stdout has taken the last records, or LOG_FLUSH_MS has passed. */
function exit(code: number): void {
  void (logDestination?.flush(LOG_FLUSH_MS) ?? Promise.resolve()).finally(() => process.exit(code));
}

main().then(exit, (error) => {
  process.stderr.write(`mcpmux: fatal: ${(error as Error)?.stack ?? String(error)}\n`);
  exit(EXIT_FATAL);
});
