/**
 * When a changed config file is ready to apply, for `--watch-config`: the timing, apart from the
 * fs watch (watch.ts) so that a test can drive it with its own clock and file.
 *
 * A file written in place may be read half-written, and a half that ends after one server is a
 * valid config without the others: applied, it would remove them and stop their processes. So
 * content is applied only once it has settled: read twice, SETTLE_MS apart, the same both times,
 * with no fs event in between (an event starts the wait again). A ConfigMap's update is the
 * exception: the kubelet swaps the `..data` symlink with a rename, so the file is never seen
 * half-written, and a burst of events on `..` names is applied after the quiet period alone.
 * Only content that differs from what was last applied reloads.
 */
import { systemClock, type Clock } from '../clock.js';

/** Events closer together than this are one change (an editor's write, a symlink swap). */
export const QUIET_MS = 200;

/**
 * How long new content must stay the same before it is applied. A writer that pauses longer than
 * this mid-write can still be read half-way (only a rename is safe); 500 ms covers the pauses of
 * a write in chunks (a script's writes with flushes between, a copy over network storage), and is
 * short next to how fast a person edits a file, or the minute the kubelet takes to update a
 * ConfigMap. With the quiet period, an edit in place is applied 0.7 s after its last event.
 */
export const SETTLE_MS = 500;

export interface SettleTiming {
  readonly quietMs: number;
  readonly settleMs: number;
  readonly clock: Clock;
}

export interface SettleHandlers {
  /** New content, settled (or swapped in whole): reload. */
  onChange(): void;
  /** The file was looked at and holds what was last applied (or is gone): no reload. */
  onSame(): void;
  /** New content, not settled yet: it is read again after `settleMs`. */
  onUnsettled(settleMs: number): void;
}

export interface Settler {
  /** An fs event on `name` in the config file's folder. */
  notice(name: string | undefined): void;
  stop(): void;
}

/** True for the names a ConfigMap volume's atomic update touches (`..data`, `..2026_11_29_…`). */
export function isConfigMapSwap(name: string | undefined): boolean {
  return name?.startsWith('..') === true;
}

export function createSettler(read: () => string | undefined, handlers: SettleHandlers, timing: Partial<SettleTiming> = {}): Settler {
  const { quietMs = QUIET_MS, settleMs = SETTLE_MS, clock = systemClock } = timing;
  let applied = read();
  let swapped = false;
  let timer: unknown;
  const after = (ms: number, run: () => void) => {
    clock.clearTimeout(timer);
    timer = clock.setTimeout(run, ms);
  };
  /** Reads the file; `seen` is what the previous read saw, if this read confirms one. */
  const check = (seen?: string) => {
    const content = read();
    const atOnce = swapped;
    swapped = false;
    if (content === undefined || content === applied) return handlers.onSame();
    if (atOnce || content === seen) {
      applied = content;
      return handlers.onChange();
    }
    handlers.onUnsettled(settleMs);
    after(settleMs, () => check(content));
  };
  return {
    notice(name) {
      if (isConfigMapSwap(name)) swapped = true;
      after(quietMs, () => check());
    },
    stop() {
      clock.clearTimeout(timer);
    },
  };
}
