/**
 * What a server's process runs: its own command for an HTTP server ({{port}} rendered), and for a
 * stdio server `mcpmux bridge` in front of it, so that mcpmux supervises, probes and proxies the
 * bridge like any HTTP child while a fault in bridging stays in that server's own process.
 */
import { fileURLToPath } from 'node:url';
import { renderPort } from '../config/expand.js';
import type { ServerConfig } from '../config/schema.js';

/** This build's entry point: the bridge runs from the same files as mcpmux. */
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** Session processes get this much less than the bridge's own grace, so they are gone before it is SIGKILLed. */
const SESSION_GRACE_MARGIN_SECONDS = 1.5;

export function buildChildCommand(config: Pick<ServerConfig, 'transport' | 'stdio' | 'command' | 'args' | 'terminationGracePeriodSeconds'>, port: number): { command: string; args: string[] } {
  if (config.transport !== 'stdio' || !config.stdio) return { command: config.command, args: config.args.map((arg) => renderPort(arg, port)) };
  const { stdio } = config;
  return {
    command: process.execPath,
    args: [
      MAIN,
      'bridge',
      '--sessions', stdio.sessions,
      '--warm', String(stdio.sessions === 'shared' ? 0 : stdio.warmProcesses),
      '--max-sessions', String(stdio.maxSessions),
      ...(stdio.maxSessionsPerClient === undefined ? [] : ['--max-sessions-per-client', String(stdio.maxSessionsPerClient)]),
      '--session-rate', String(stdio.sessionRate.perSecond),
      '--session-burst', String(stdio.sessionRate.burst),
      // mcpmux says who each request is from (Mcpmux-Client): every request reaches the bridge from mcpmux's address.
      '--trust-client-header',
      '--idle-timeout', String(stdio.idleTimeoutSeconds),
      '--initialize-timeout', String(stdio.initializeTimeoutSeconds),
      '--max-message-bytes', String(stdio.maxMessageBytes),
      '--grace', String(Math.max(0, config.terminationGracePeriodSeconds - SESSION_GRACE_MARGIN_SECONDS)),
      '--',
      config.command,
      ...config.args,
    ],
  };
}
