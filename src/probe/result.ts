/**
 * What one probe saw. A prober error (mcpmux could not run the check) is `unknown`,
 * never `failure`: it must not count against the child.
 */
export type ProbeOutcome = 'success' | 'failure' | 'unknown';

/** Where a probe looks: a process's loopback address. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** Sent on every httpGet probe of this process (a bridge's key: supervisor/bridge-key.ts). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  /** A short human reason, e.g. "connect ECONNREFUSED" or "HTTP 503". */
  readonly message: string;
}

export const success = (message = 'ok'): ProbeResult => ({ outcome: 'success', message });
export const failure = (message: string): ProbeResult => ({ outcome: 'failure', message });
export const unknown = (message: string): ProbeResult => ({ outcome: 'unknown', message });

/** Errors that say mcpmux itself could not run the check (out of files, ports or memory). */
const PROBER_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS', 'EADDRNOTAVAIL']);

/**
 * Classifies a thrown error into a result. Whatever the child did (refused, reset, answered badly,
 * too slowly) is a failure; mcpmux's own trouble, or a bug in the prober, is unknown.
 */
export function resultFromError(error: unknown, timedOut: boolean, timeoutSeconds: number): ProbeResult {
  if (timedOut) return failure(`timed out after ${timeoutSeconds}s`);
  const err = (error ?? {}) as { code?: unknown; cause?: { code?: unknown }; message?: string };
  const code = typeof err.code === 'string' ? err.code : typeof err.cause?.code === 'string' ? err.cause.code : undefined;
  if (code && PROBER_ERRORS.has(code)) return unknown(`prober error: ${code}`);
  const isProgramBug = (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) && !code;
  if (isProgramBug) return unknown(`prober error: ${err.message}`);
  return failure(code ?? err.message ?? String(error));
}
