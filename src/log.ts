/**
 * Logs: pino JSON lines on stdout, one record per event. This file subscribes to lifecycle events;
 * the code that emits them does not know it exists.
 */
import { pino, type Logger } from 'pino';
import type { Events } from './events.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({
    level,
    base: { name: 'mcpmux' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Writes one record per lifecycle event. */
export function subscribeLogging(events: Events, log: Logger): void {
  events.on('output', ({ server, stream, line, truncated }) => {
    log.info(truncated ? { server, stream, truncated } : { server, stream }, line);
  });
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
  events.on('listening', ({ listener, host, port }) => log.info({ listener, host, port }, 'listening'));
  events.on('shutdown-step', ({ step, ...fields }) => log.info({ step, ...fields }, `shutdown: ${step}`));
  events.on('internal-error', ({ where, error }) => log.error({ where, err: error }, 'internal error'));
}
