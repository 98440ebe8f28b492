/**
 * Tracing, started: what the proxy and the bridge make spans with. The SDK (sdk.ts) is imported
 * here, and only here, once tracing is on: with it off, not one of its modules is loaded.
 *
 * Never in the way: spans go through a bounded queue, an export that fails or a span the full
 * queue drops is counted (stats) and said at most once a minute (onWarning), and shutdown()
 * never waits past its budget, never rejects.
 */
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import { TracingError } from '../errors.js';
import type { TracingSettings } from './settings.js';
import type { MakeTraceState } from './trace-context.js';
import { limitWarnings, type TracingWarning } from './warnings.js';

/** Spans since the start, by what became of them. */
export interface SpanStats {
  /** In exports the collector took. */
  readonly exported: number;
  /** In exports that failed (the collector down, refusing, or too slow). */
  readonly failed: number;
  /** Dropped before any export: the queue was full. */
  readonly dropped: number;
}

export interface Tracing {
  /** Spans are started with an explicit parent context: nothing is registered globally. */
  readonly tracer: Tracer;
  /** W3C Trace Context and Baggage (traceparent, tracestate, baggage), for headers and params._meta. */
  readonly propagator: TextMapPropagator;
  /** A tracestate from its header's text (core's TraceState). */
  readonly makeTraceState: MakeTraceState;
  stats(): SpanStats;
  /**
   * Exports what is queued and stops, within `timeoutMs`; what is not out by then is lost.
   * Never rejects, never throws; a second call returns the first call's promise.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

export interface TracingHooks {
  /** What tracing has to say (failed exports, dropped spans, the SDK's own warnings), one per kind a minute. */
  readonly onWarning?: (warning: TracingWarning) => void;
  /** The clock of that limit. */
  readonly now?: () => number;
}

/** Loads the SDK and makes the tracer. Throws a TracingError when the SDK cannot be loaded or made. */
export async function startTracing(settings: TracingSettings, hooks: TracingHooks = {}): Promise<Tracing> {
  const warn = limitWarnings(hooks.onWarning ?? (() => undefined), hooks.now);
  let sdk;
  try {
    const { createSdkTracing } = await import('./sdk.js');
    sdk = createSdkTracing(settings, warn);
  } catch (cause) {
    throw new TracingError(`the tracing SDK could not be started: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  const made = sdk;
  let stopped: Promise<void> | undefined;
  return {
    tracer: made.tracer,
    propagator: made.propagator,
    makeTraceState: made.makeTraceState,
    stats: () => made.stats(),
    shutdown(timeoutMs) {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          warn('stop', `the last spans were not all exported within ${timeoutMs} ms of the stop; the rest are lost`);
          resolve();
        }, Math.max(0, timeoutMs));
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        try {
          made.shutdown().then(done, (error: unknown) => {
            warn('stop', `the last export failed: ${describe(error)}`);
            done();
          });
        } catch (error) {
          warn('stop', `the tracer could not stop: ${describe(error)}`);
          done();
        }
      });
      return stopped;
    },
  };
}

/** The SDK rejects with an Error, or with an array of them (forceFlush). */
function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map(describe).join('; ');
  return error instanceof Error ? error.message : String(error);
}
