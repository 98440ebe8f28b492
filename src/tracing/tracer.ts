/**
 * mcpmux's tracer, as @opentelemetry/api's Tracer: a span's parent is the span in the context it
 * is given (or none, with `root`); the sampler decides; an unsampled span is the api's
 * non-recording span, with ids of its own and the trace flags 00, so that context still
 * propagates; a sampled one is a RecordedSpan that goes to the sink when it ends. No global
 * context manager is used: callers pass contexts.
 */
import { context as contexts, isSpanContextValid, SpanKind, trace, TraceFlags, type Context, type Span, type SpanContext, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { RecordedSpan, type SpanSink } from './recorded-span.js';
import type { Sample } from './sampler.js';
import { IdWords, newSpanId, newTraceId } from './span-ids.js';
import { toSpanTime } from './span-time.js';

export function createTracer(sample: Sample, sink: SpanSink): Tracer {
  const startSpan = (name: string, options: SpanOptions = {}, context: Context = contexts.active()): Span => {
    const parentSpan = options.root ? undefined : trace.getSpan(context);
    // A span of this tracer has a valid context by construction; any other is checked.
    const local = parentSpan instanceof RecordedSpan ? parentSpan : undefined;
    const parent = local ? local.context : validContext(parentSpan?.spanContext());
    const ids = new IdWords();
    const traceId = parent ? parent.traceId : newTraceId(ids);
    const traceState = parent?.traceState;
    if (!sample(parent, traceId)) return trace.wrapSpanContext({ traceId, spanId: newSpanId(ids), traceFlags: TraceFlags.NONE, ...(traceState && { traceState }) });
    if (local) ids.takeParent(local.ids);
    else if (parent) ids.readParent(parent.traceId, parent.spanId);
    const spanId = newSpanId(ids);
    const span = new RecordedSpan(name, options.kind ?? SpanKind.INTERNAL, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState, isRemote: false }, ids, parent?.spanId, parent?.isRemote === true, toSpanTime(options.startTime), sink);
    if (options.attributes) span.setAttributes(options.attributes);
    if (options.links) span.addLinks(options.links);
    return span;
  };
  return {
    startSpan,
    startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
      const fn = rest.pop() as F;
      const [options, context = contexts.active()] = rest as [SpanOptions | undefined, Context | undefined];
      const span = startSpan(name, options, context);
      return contexts.with(trace.setSpan(context, span), fn as (span: Span) => ReturnType<F>, undefined, span);
    },
  };
}

/**
 * The parent's context if valid. A remote one came from the W3C propagator, whose parse of the
 * traceparent has checked it already; any other is checked here.
 */
function validContext(context: SpanContext | undefined): SpanContext | undefined {
  if (context === undefined) return undefined;
  return context.isRemote === true || isSpanContextValid(context) ? context : undefined;
}
