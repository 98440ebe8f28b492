/**
 * A span's timestamps: whole milliseconds since the epoch and the nanoseconds past them, exact
 * to the nanosecond that OTLP's fixed64 `*_time_unix_nano` fields carry (a double holding the
 * nanoseconds since the epoch would not be: they are past 2^53).
 *
 * A number below the process's time origin is a `performance.now()` reading, as in the OTel
 * SDK; above it, milliseconds since the epoch.
 */
import type { TimeInput } from '@opentelemetry/api';

/** [whole milliseconds since the epoch, nanoseconds past them (0-999,999)]. */
export type SpanTime = readonly [number, number];

const ORIGIN = performance.timeOrigin;
const ORIGIN_MS = Math.floor(ORIGIN);
const ORIGIN_FRACTION = ORIGIN - ORIGIN_MS;

/** Now, from the monotonic clock. */
export function nowSpanTime(): SpanTime {
  return fromPerformance(performance.now());
}

export function toSpanTime(input: TimeInput | undefined): SpanTime {
  if (input === undefined) return nowSpanTime();
  if (typeof input === 'number') return input < ORIGIN ? fromPerformance(input) : fromEpochMs(input);
  if (input instanceof Date) return fromEpochMs(input.getTime());
  const [seconds, nanos] = input;
  return [seconds * 1000 + Math.floor(nanos / 1e6), nanos % 1e6];
}

/** The later of two times. */
export function latestSpanTime(a: SpanTime, b: SpanTime): SpanTime {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]) ? a : b;
}

/**
 * The time's nanoseconds since the epoch as a fixed64's low and high 32-bit words, by exact
 * arithmetic: ms * 10^6 + ns = x * 2^16 + y, with ms split so that every product stays below
 * 2^53. Remainders are taken as `a - floor(a / b) * b`: a double's `%` is a call into the runtime.
 */
export function nanoWords(time: SpanTime): [lo: number, hi: number] {
  const [ms, ns] = time;
  const msHigh = Math.floor(ms / 65536);
  const x = msHigh * 1e6;
  const y = (ms - msHigh * 65536) * 1e6 + ns;
  const xHigh = Math.floor(x / 65536);
  const yHigh = Math.floor(y / TWO_32);
  const low = (x - xHigh * 65536) * 65536 + (y - yHigh * TWO_32);
  const lowHigh = Math.floor(low / TWO_32);
  return [low - lowHigh * TWO_32, xHigh + yHigh + lowHigh];
}

const TWO_32 = 0x1_0000_0000;

function fromPerformance(now: number): SpanTime {
  const past = ORIGIN_FRACTION + now;
  const whole = Math.floor(past);
  return [ORIGIN_MS + whole, Math.min(999_999, Math.round((past - whole) * 1e6))];
}

function fromEpochMs(ms: number): SpanTime {
  const whole = Math.floor(ms);
  return [whole, Math.min(999_999, Math.round((ms - whole) * 1e6))];
}
