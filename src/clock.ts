/**
 * Time as mcpmux's timed logic sees it: the system's, or a test's own (unit tests of the server's
 * state machine, and of the config watch's settling, drive restarts, backoff, drains and waits
 * through it, without waiting).
 */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
