/**
 * A histogram for the request hot path, exposed through a prom-client Registry beside prom-client's
 * own metrics, in the same exposition. prom-client's Histogram.observe validates and hashes its
 * labels, allocates a closure, and keys its buckets by number-turned-string on every call; here a
 * caller holds its series (one per label set, made once) and an observation is a short scan over
 * the bounds and three additions. Buckets are made cumulative at scrape time.
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/** What prom-client's Registry reads from a metric at scrape time. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: MetricValueWithName<string>[];
  aggregator: string;
}

export interface HistogramSeries {
  /** `traceId`: the trace of what was observed, kept as its bucket's exemplar (OpenMetrics only prints it). */
  observe(value: number, traceId?: string): void;
}

/** The latest observation of a bucket that came with a trace: an OpenMetrics exemplar. */
interface Exemplar {
  traceId: string;
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

class Series implements HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot is above every bound (+Inf only). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Per bucket (as `counts`), made at the first observation with a trace. */
  exemplars: (Exemplar | undefined)[] | undefined;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number, traceId?: string): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
    if (traceId !== undefined) (this.exemplars ??= new Array(bounds.length + 1))[i] = { traceId, value, timestamp: Date.now() / 1000 };
  }
}

export class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Set<Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registers: readonly Registry[],
  ) {
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** A new series for these label values; keep it, and observe through it. */
  series(labels: Readonly<Record<string, string>>): HistogramSeries {
    const series = new Series(labels, this.bounds);
    this.#series.add(series);
    return series;
  }

  /** Drops every series whose labels match. */
  remove(matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const series of this.#series) if (matches(series.labels)) this.#series.delete(series);
  }

  /** Zeroes every series; callers keep their handles, so no series is ever detached. */
  reset(): void {
    for (const series of this.#series) {
      series.counts.fill(0);
      series.exemplars = undefined;
      series.sum = 0;
      series.count = 0;
    }
  }

  get(): Promise<MetricSnapshot> {
    const values: MetricValueWithName<string>[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.#series) {
      let cumulative = 0;
      const exemplars = series.exemplars;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push(withExemplar({ metricName: bucket, labels: { le: this.bounds[i]!, ...series.labels }, value: cumulative }, exemplars?.[i]));
      }
      values.push(withExemplar({ metricName: bucket, labels: { le: '+Inf', ...series.labels }, value: series.count }, exemplars?.[this.bounds.length]));
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  getForPromString(): Promise<MetricSnapshot> {
    return this.get();
  }
}

/** A bucket's value with its exemplar, as prom-client's registry prints it in OpenMetrics (and ignores otherwise). */
function withExemplar(value: MetricValueWithName<string>, exemplar: Exemplar | undefined): MetricValueWithName<string> {
  if (!exemplar) return value;
  return Object.assign(value, { exemplar: { labelSet: { trace_id: exemplar.traceId }, value: exemplar.value, timestamp: exemplar.timestamp } });
}
