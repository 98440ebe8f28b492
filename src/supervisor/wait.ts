import { systemClock, type Clock } from '../clock.js';

/** Polls a condition until it holds or the deadline passes. Returns whether it held. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20, clock: Clock = systemClock): Promise<boolean> {
  const deadline = clock.now() + timeoutMs;
  while (!(await condition())) {
    const left = deadline - clock.now();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(intervalMs, left)));
  }
  return true;
}
