/**
 * mcpmux's own tracer (tracing/tracer.ts), with its real sampler, whose ended spans are kept in
 * memory instead of being encoded: for unit tests of what makes spans. A finished span is read
 * in the OTel SDK's ReadableSpan terms (attributes as an object, the parent's context), so that
 * a test says what a trace backend would show.
 */
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanContext, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import type { RecordedSpan } from '../../src/tracing/recorded-span.js';
import { createSampler } from '../../src/tracing/sampler.js';
import { createTracer } from '../../src/tracing/tracer.js';

export interface FinishedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  spanContext(): SpanContext;
  readonly parentSpanContext: { readonly spanId: string; readonly isRemote: boolean } | undefined;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly context: SpanContext; readonly attributes: Readonly<Record<string, unknown>> }[];
  readonly events: readonly { readonly name: string; readonly attributes: Readonly<Record<string, unknown>> }[];
  readonly status: { readonly code: SpanStatusCode; readonly message: string | undefined };
}

export interface SpanRecorder {
  readonly tracer: Tracer;
  readonly propagator: W3CTraceContextPropagator;
  readonly makeTraceState: (text: string | undefined) => TraceState;
  /** The spans ended so far, in the order they ended. */
  finished(): FinishedSpan[];
}

export function recordSpans(sampler = { parentBased: true, ratio: 1 }): SpanRecorder {
  const ended: RecordedSpan[] = [];
  return {
    tracer: createTracer(createSampler(sampler), { take: (span) => void ended.push(span) }),
    propagator: new W3CTraceContextPropagator(),
    makeTraceState: (text) => new TraceState(text),
    finished: () => ended.map(readSpan),
  };
}

function readSpan(span: RecordedSpan): FinishedSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.context,
    parentSpanContext: span.parentSpanId === undefined ? undefined : { spanId: span.parentSpanId, isRemote: span.parentIsRemote },
    attributes: objectOf(span.allAttributes()),
    links: (span.links ?? []).map((link) => ({ context: link.context, attributes: objectOf(link.attributes) })),
    events: (span.events ?? []).map((event) => ({ name: event.name, attributes: objectOf(event.attributes) })),
    status: { code: span.statusCode, message: span.statusMessage },
  };
}

function objectOf(flat: readonly unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) object[flat[i] as string] = flat[i + 1];
  return object;
}
