/** `mcpmux bridge` as a program: start, stop on the first SIGTERM or SIGINT, force on the second. */
import type { Logger } from 'pino';
import type { TracingSettings } from '../tracing/settings.js';
import type { Tracing } from '../tracing/start.js';
import { startBridge, type Bridge, type BridgeOptions } from './server.js';

/** What the bridge gives its last spans when it stops: well inside the grace mcpmux gives it. */
const FLUSH_BUDGET_MS = 2000;

/**
 * Resolves with the exit code: 0 after a requested stop, 1 when the bridge could not start or go on.
 * `tracing`: mcpmux's settings when its tracing is on (MCPMUX_TRACING): the bridge's spans join its traces.
 */
export async function runBridge(options: BridgeOptions, log: Logger, tracing?: TracingSettings): Promise<number> {
  let resolveExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  let bridge: Bridge | undefined;
  const tracer = tracing && (await startBridgeTracing(tracing, log));
  const stopWith = (code: number) =>
    void (bridge?.stop() ?? Promise.resolve())
      .then(() => tracer?.shutdown(FLUSH_BUDGET_MS))
      .finally(() => resolveExit(code));
  const server = tracing?.resourceAttributes['mcp.server.name'] ?? '';
  try {
    bridge = await startBridge(options, log, (reason) => {
      log.error({ reason }, 'the bridge cannot go on: exiting');
      stopWith(1);
    }, tracer && { tracing: tracer, server });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    log.fatal({ err: error }, code === 'EADDRINUSE' ? `port ${options.port} is in use` : 'the bridge could not start');
    return 1;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      return resolveExit(1);
    }
    log.info({ signal }, 'stopping: ending every session');
    stopWith(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception: stopping');
    stopWith(1);
  });
  return exitCode;
}

/** The bridge's tracer, loaded only when mcpmux's tracing is on; one that cannot start is logged, and the bridge goes on without. */
async function startBridgeTracing(settings: TracingSettings, log: Logger): Promise<Tracing | undefined> {
  const { startTracing } = await import('../tracing/start.js');
  return startTracing(settings, { onWarning: ({ kind, message }) => log.warn({ kind }, message) }).catch((error: unknown) => {
    log.warn({ err: error }, 'tracing could not start: the bridge serves without it');
    return undefined;
  });
}
