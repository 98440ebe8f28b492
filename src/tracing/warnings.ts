/**
 * What tracing has to say, held to one warning per kind a minute: a collector that is down fails
 * every export, and the log must not fill with it. What was held back is counted into the next one.
 */

/** export: an export failed; queue: spans were dropped, the queue full; stop: the last spans were not all out; sdk: anything else the SDK said. */
export type TracingWarningKind = 'export' | 'queue' | 'stop' | 'sdk';

export interface TracingWarning {
  readonly kind: TracingWarningKind;
  readonly message: string;
  /** Warnings of this kind held back since the last one given. */
  readonly suppressed: number;
}

export type WarnTracing = (kind: TracingWarningKind, message: string) => void;

export const WARNING_INTERVAL_MS = 60_000;

/** A `warn(kind, message)` that passes one warning per kind per interval to `onWarning`, never throwing. */
export function limitWarnings(onWarning: (warning: TracingWarning) => void, now: () => number = Date.now, intervalMs = WARNING_INTERVAL_MS): WarnTracing {
  const last = new Map<TracingWarningKind, { at: number; suppressed: number }>();
  return (kind, message) => {
    const at = now();
    const seen = last.get(kind);
    if (seen && at - seen.at < intervalMs) {
      seen.suppressed += 1;
      return;
    }
    last.set(kind, { at, suppressed: 0 });
    try {
      onWarning({ kind, message, suppressed: seen?.suppressed ?? 0 });
    } catch {
      // A listener's fault never reaches the SDK (it would call its error handler, and so us, again).
    }
  };
}
