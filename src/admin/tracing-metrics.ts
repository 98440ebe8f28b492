/**
 * The metrics of tracing (tracing/), registered only when it is on: what became of the spans
 * mcpmux made, read from the tracer's counts at scrape time. None of them slows a request: a
 * failed export or a full queue costs the spans, never the call they describe.
 */
import { Counter, type Registry } from 'prom-client';
import type { SpanStats } from '../tracing/start.js';

export function registerTracingMetrics(registers: Registry[], stats: () => SpanStats): void {
  const counters: [name: string, help: string, read: (s: SpanStats) => number][] = [
    ['mcpmux_trace_spans_exported_total', 'Spans in exports the collector took.', (s) => s.exported],
    ['mcpmux_trace_spans_failed_total', 'Spans in exports that failed: the collector down, refusing, or slower than the export timeout.', (s) => s.failed],
    ['mcpmux_trace_spans_dropped_total', 'Spans dropped before any export: the queue was full (the collector slower than the spans come).', (s) => s.dropped],
  ];
  for (const [name, help, read] of counters) {
    new Counter({ name, help, registers, collect() {
      this.reset();
      this.inc(read(stats()));
    } });
  }
}
