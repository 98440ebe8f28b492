/**
 * Restart backoff, pure. Kubernetes waits 10 s doubling to 300 s and resets after 10 min of clean
 * running; MCP servers start in well under a second, so mcpmux starts at 0.5 s, doubles to a
 * 30 s cap, and resets after 60 s of running.
 */
export interface BackoffPolicy {
  readonly initialSeconds: number;
  readonly maxSeconds: number;
  readonly resetAfterSeconds: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialSeconds: 0.5, maxSeconds: 30, resetAfterSeconds: 60 };

/** Delay before restart number `attempt` (1 for the first restart). */
export function nextDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxSeconds, policy.initialSeconds * 2 ** Math.min(exponent, 30));
}

/** After a process ran this long, its exit counts as a fresh start: the attempt counter resets. */
export function shouldResetAttempts(ranSeconds: number, policy: BackoffPolicy = DEFAULT_BACKOFF): boolean {
  return ranSeconds >= policy.resetAfterSeconds;
}
