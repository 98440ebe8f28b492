/**
 * W3C Trace Context read from a request: `traceparent` (and `tracestate`) as the OTel
 * propagator reads them (core's W3CTraceContextPropagator: the same grammar, the same answer for
 * every input, tested against it), by a scan of the characters instead of its regular
 * expression, which cost a proxied call more than the rest of the parse.
 *
 * Version 00 is exactly `00-{32 hex}-{16 hex}-{2 hex}`; a later version may carry more after a
 * `-`; `ff` is no version. The ids are lowercase hex and never all zeros. One whitespace
 * character is allowed before and after.
 */
import type { SpanContext, TraceState } from '@opentelemetry/api';

/** A tracestate from its header's text: core's TraceState, given by the SDK side (this file is loaded with tracing off too). */
export type MakeTraceState = (text: string | undefined) => TraceState;

/** The remote span context a `traceparent` (and `tracestate`) value gives, or undefined. */
export function readTraceContext(traceparent: unknown, tracestate: unknown, makeTraceState: MakeTraceState): SpanContext | undefined {
  const text = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  if (typeof text !== 'string') return undefined;
  const at = traceparentStart(text);
  if (at < 0) return undefined;
  const context: SpanContext = { traceId: text.slice(at + 3, at + 35), spanId: text.slice(at + 36, at + 52), traceFlags: hexValue(text, at + 53) * 16 + hexValue(text, at + 54), isRemote: true };
  if (tracestate) {
    const state = Array.isArray(tracestate) ? tracestate.join(',') : tracestate;
    context.traceState = makeTraceState(typeof state === 'string' ? state : undefined);
  }
  return context;
}

/** Where the version starts in a valid traceparent (0, or 1 after a whitespace), else -1. */
function traceparentStart(text: string): number {
  const at = text.length > 0 && isWhitespace(text.charCodeAt(0)) ? 1 : 0;
  const rest = at + 55;
  if (text.length < rest) return -1;
  if (!isHex(text, at, 2) || (text.charCodeAt(at) === 0x66 && text.charCodeAt(at + 1) === 0x66)) return -1;
  if (text.charCodeAt(at + 2) !== DASH || !isHex(text, at + 3, 32) || isZeros(text, at + 3, 32)) return -1;
  if (text.charCodeAt(at + 35) !== DASH || !isHex(text, at + 36, 16) || isZeros(text, at + 36, 16)) return -1;
  if (text.charCodeAt(at + 52) !== DASH || !isHex(text, at + 53, 2)) return -1;
  const end = text.length;
  if (end === rest || (end === rest + 1 && isWhitespace(text.charCodeAt(rest)))) return at;
  // More after the flags: only a later version's `-` and anything on one line, then an optional whitespace.
  if (text.charCodeAt(rest) !== DASH || (text.charCodeAt(at) === 0x30 && text.charCodeAt(at + 1) === 0x30)) return -1;
  for (let i = rest + 1; i < end - 1; i++) if (isLineTerminator(text.charCodeAt(i))) return -1;
  return at;
}

const DASH = 0x2d;

function hexValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c <= 0x39 ? c - 0x30 : c - 0x57;
}

/** `length` characters of lowercase hex from `from`. */
function isHex(text: string, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isZeros(text: string, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) if (text.charCodeAt(i) !== 0x30) return false;
  return true;
}

/** What `.` in a regular expression does not match. */
function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** What `\s` in a regular expression matches. */
function isWhitespace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
