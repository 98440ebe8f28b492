/** `mcpmux bridge` as a program: start, stop on the first SIGTERM or SIGINT, force on the second. */
import type { Logger } from 'pino';
import { McpmuxError } from '../errors.js';
import { startBridge, type BridgeOptions } from './server.js';

/** Resolves with the exit code. */
export async function runBridge(options: BridgeOptions, log: Logger): Promise<number> {
  let bridge;
  try {
    bridge = await startBridge(options, log);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    log.fatal({ err: error }, code === 'EADDRINUSE' ? `port ${options.port} is in use` : 'the bridge could not start');
    return error instanceof McpmuxError || code !== undefined ? 1 : Promise.reject(error);
  }
  const started = bridge;
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        return resolve(1);
      }
      log.info({ signal }, 'stopping: ending every session');
      void started.stop().then(() => resolve(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('uncaughtException', (error) => {
      log.fatal({ err: error }, 'uncaught exception: stopping');
      void started.stop().finally(() => resolve(1));
    });
  });
}
