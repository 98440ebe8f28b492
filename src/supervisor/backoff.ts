/**
 * Restart backoff, pure. Kubernetes waits 10 s doubling to 300 s and resets after 10 min of clean
 * running; MCP servers start in well under a second, so mcpmux restarts the first time at once
 * (a single crash costs only the child's own start-up), then waits initialSeconds (0.5 s by
 * default, in the config schema) doubling to a 30 s cap, and resets after 60 s of running.
 */
export interface BackoffPolicy {
  readonly initialSeconds: number;
  readonly maxSeconds: number;
  readonly resetAfterSeconds: number;
}

/** Delay in seconds before restart number `attempt` (1 for the first restart, which is immediate). */
export function nextDelay(attempt: number, policy: BackoffPolicy): number {
  if (attempt <= 1) return 0;
  const exponent = attempt - 2;
  return Math.min(policy.maxSeconds, policy.initialSeconds * 2 ** Math.min(exponent, 30));
}

/** After a process ran this long, its exit counts as a fresh start: the attempt counter resets. */
export function shouldResetAttempts(ranSeconds: number, policy: BackoffPolicy): boolean {
  return ranSeconds >= policy.resetAfterSeconds;
}
