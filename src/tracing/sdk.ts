/**
 * The OpenTelemetry SDK, put together: the only file that imports it (sdk-trace, the OTLP/HTTP
 * protobuf exporter, resources, core), and loaded by start.ts only when tracing is on.
 *
 * Nothing is registered globally (no global tracer provider, propagator or context manager):
 * contexts are passed by hand. What is global by nature is taken over so that the SDK never
 * writes to stdout, which carries mcpmux's JSON logs: the api's diag logger and core's error
 * handler both go to `warn`, which holds them to one a minute per kind.
 */
import { readFileSync } from 'node:fs';
import { createNoopMeter, diag, DiagLogLevel, type DiagLogFunction, type Meter, type MeterProvider, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { CompositePropagator, ExportResultCode, setGlobalErrorHandler, W3CBaggagePropagator, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { SamplerSettings, TracingSettings } from './settings.js';
import type { WarnTracing } from './warnings.js';

/** What the SDK gives start.ts: its shutdown may reject and may take as long as the exporter does. */
export interface SdkTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  stats(): { exported: number; failed: number; dropped: number };
  shutdown(): Promise<void>;
}

/** mcpmux's own version, for service.version and the tracer's scope. */
const VERSION = readVersion();

export function createSdkTracing(settings: TracingSettings, warn: WarnTracing): SdkTracing {
  // A failed export reaches the error handler too (the processor passes it on): said once, here.
  const reported = new WeakSet<object>();
  takeOverDiagnostics(warn, reported);
  const counts = { exported: 0, failed: 0, dropped: 0 };
  const exporter = countExports(
    new OTLPTraceExporter({ url: settings.tracesUrl, headers: { ...settings.headers }, timeoutMillis: settings.queue.exportTimeoutMillis }),
    counts,
    (spans, error) => {
      if (error) reported.add(error);
      warn('export', `an export of ${spans} span${spans === 1 ? '' : 's'} to ${settings.tracesUrl} failed (${error?.message ?? 'no reason given'}); counted in mcpmux_trace_spans_failed_total`);
    },
  );
  const processor = new BatchSpanProcessor({
    exporter,
    ...settings.queue,
    selfObsMeterProvider: countDrops((n) => {
      counts.dropped += n;
      warn('queue', `the span queue is full (${settings.queue.maxQueueSize}): spans dropped, counted in mcpmux_trace_spans_dropped_total`);
    }),
  });
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({
      ...(VERSION === undefined ? {} : { 'service.version': VERSION }),
      ...settings.resourceAttributes,
      'service.name': settings.serviceName,
    })),
    sampler: makeSampler(settings.sampler),
    spanProcessors: [processor],
  });
  return {
    tracer: provider.getTracer('mcpmux', VERSION),
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    stats: () => ({ ...counts }),
    shutdown: () => provider.shutdown(),
  };
}

/** ParentBased(root) unless the environment asked for a sampler that is not; the root by its ratio. */
export function makeSampler({ parentBased, ratio }: SamplerSettings): Sampler {
  const root = ratio >= 1 ? new AlwaysOnSampler() : ratio <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio);
  return parentBased ? new ParentBasedSampler({ root }) : root;
}

/** The exporter, counting the spans of each export by its result; a failure is also said through `onFailure`. */
function countExports(inner: SpanExporter, counts: { exported: number; failed: number }, onFailure: (spans: number, error: Error | undefined) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      inner.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) counts.exported += spans.length;
        else {
          counts.failed += spans.length;
          onFailure(spans.length, result.error);
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * The BatchSpanProcessor has no public count of the spans it drops when its queue is full; its
 * self-observability meter is told each one (otel.sdk.processor.span.processed with
 * error.type=queue_full). This meter hears that and nothing else: every other instrument is a no-op.
 */
function countDrops(onDropped: (spans: number) => void): MeterProvider {
  const noop = createNoopMeter();
  const meter: Meter = Object.create(noop) as Meter;
  meter.createCounter = (name, options) => {
    const counter = noop.createCounter(name, options);
    counter.add = (value, attributes) => {
      if (attributes?.['error.type'] === 'queue_full') onDropped(value);
    };
    return counter;
  };
  return { getMeter: () => meter };
}

/** The SDK's diag messages (warn and error) and the errors it cannot handle, through `warn`; never to stdout. */
function takeOverDiagnostics(warn: WarnTracing, reported: WeakSet<object>): void {
  const say: DiagLogFunction = (message, ...args) => warn('sdk', [message, ...args.map(String)].join(' '));
  const quiet: DiagLogFunction = () => undefined;
  diag.setLogger({ error: say, warn: say, info: quiet, debug: quiet, verbose: quiet }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  setGlobalErrorHandler((error) => {
    if (typeof error === 'object' && error !== null && reported.has(error)) return;
    warn('sdk', error instanceof Error ? error.message : String(error));
  });
}

function readVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
