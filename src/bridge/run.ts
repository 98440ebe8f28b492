/** `mcpmux bridge` as a program: start, stop on the first SIGTERM or SIGINT, force on the second. */
import type { Logger } from 'pino';
import { startBridge, type Bridge, type BridgeOptions } from './server.js';

/** Resolves with the exit code: 0 after a requested stop, 1 when the bridge could not start or go on. */
export async function runBridge(options: BridgeOptions, log: Logger): Promise<number> {
  let resolveExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  let bridge: Bridge | undefined;
  const stopWith = (code: number) => void (bridge?.stop() ?? Promise.resolve()).finally(() => resolveExit(code));
  try {
    bridge = await startBridge(options, log, (reason) => {
      log.error({ reason }, 'the bridge cannot go on: exiting');
      stopWith(1);
    });
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
