/**
 * Tracing, put together when it is on (start.ts imports this file only then): mcpmux's tracer
 * (tracer.ts), its spans encoded as they end and batched (span-batches.ts), and the OTel
 * exporter's HTTP transport from @opentelemetry/otlp-exporter-base, which keeps the OTLP
 * exporter's behaviour: its retries with backoff, its timeout, the OTEL_EXPORTER_OTLP_*
 * environment (compression, certificates). None of these modules is loaded while tracing is off.
 *
 * The OTel SDK's tracer, processor and transformer are not used: per request, their span objects
 * and the transformer's copy of each span cost more than mcpmux's whole hop (the README's
 * "Tracing, measured"). The W3C propagators are core's.
 *
 * Nothing is registered globally (no global tracer provider, propagator or context manager):
 * contexts are passed by hand. What is global by nature is taken over so that nothing of tracing
 * writes to stdout, which carries mcpmux's JSON logs: the api's diag logger and core's error
 * handler both go to `warn`, which holds them to one a minute per kind.
 */
import { readFileSync } from 'node:fs';
import { diag, DiagLogLevel, type DiagLogFunction, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { CompositePropagator, setGlobalErrorHandler, TraceState, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import type { ISerializer } from '@opentelemetry/otlp-transformer';
import { encodeRequest, encodeResource, encodeScope } from './otlp-encoding.js';
import { decodeExportResponse, type ExportTraceResponse } from './otlp-response.js';
import { createSampler } from './sampler.js';
import type { TracingSettings } from './settings.js';
import { createSpanBatches, type SpanBatch } from './span-batches.js';
import { createTracer } from './tracer.js';
import type { MakeTraceState } from './trace-context.js';
import type { WarnTracing } from './warnings.js';

/** What start.ts gets: its shutdown may reject and may take as long as the exporter does. */
export interface SdkTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly makeTraceState: MakeTraceState;
  stats(): { exported: number; failed: number; dropped: number };
  shutdown(): Promise<void>;
}

/** mcpmux's own version, for service.version, telemetry.sdk.version and the tracer's scope. */
const VERSION = readVersion();

export function createSdkTracing(settings: TracingSettings, warn: WarnTracing): SdkTracing {
  // A failed export reaches the error handler too: said once, here.
  const reported = new WeakSet<object>();
  takeOverDiagnostics(warn, reported);
  const counts = { exported: 0, failed: 0, dropped: 0 };
  const resource = encodeResource({
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'mcpmux',
    ...(VERSION === undefined ? {} : { 'telemetry.sdk.version': VERSION, 'service.version': VERSION }),
    ...settings.resourceAttributes,
    'service.name': settings.serviceName,
  });
  const scope = encodeScope('mcpmux', VERSION);
  const serializer: ISerializer<SpanBatch, ExportTraceResponse> = {
    serializeRequest: (batch) => encodeRequest(resource, scope, batch.spans),
    deserializeResponse: decodeExportResponse,
  };
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url: settings.tracesUrl, headers: { ...settings.headers }, timeoutMillis: settings.queue.exportTimeoutMillis }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    serializer,
    'mcpmux_span_exporter',
    { name: 'span', countItems: (batch) => batch.count },
    undefined,
  );
  const batches = createSpanBatches(settings.queue, delegate, {
    onExported: (spans) => void (counts.exported += spans),
    onFailed: (spans, error) => {
      counts.failed += spans;
      if (error) reported.add(error);
      warn('export', `an export of ${spans} span${spans === 1 ? '' : 's'} to ${settings.tracesUrl} failed (${error?.message ?? 'no reason given'}); counted in mcpmux_trace_spans_failed_total`);
    },
    onDropped: (spans) => {
      counts.dropped += spans;
      warn('queue', `the span queue is full (${settings.queue.maxQueueSize}): spans dropped, counted in mcpmux_trace_spans_dropped_total`);
    },
  });
  return {
    tracer: createTracer(createSampler(settings.sampler), batches),
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    makeTraceState: (text: string | undefined) => new TraceState(text),
    stats: () => ({ ...counts }),
    shutdown: async () => {
      await batches.flush();
      await delegate.shutdown();
    },
  };
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
