/**
 * config.tracing + mcpmux's environment -> what the tracer is made of, or undefined when off. Pure.
 *
 * Tracing is on once an endpoint is known: tracing.endpoint, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * (as is), else OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces). OTEL_SDK_DISABLED=true turns it off
 * whatever the config says. A config field wins over the environment for its setting; the
 * environment fills what the config leaves unset. An invalid environment value is a warning and
 * the default, as the OTel specification has it: never a crash.
 */
import type { TracingConfig } from '../config/schema.js';
import { parseKeyValues } from './key-values.js';

export interface SamplerSettings {
  /** A caller's sampled flag decides for its trace; `ratio` only for a trace that starts here. */
  readonly parentBased: boolean;
  /** 1: every trace, 0: none, between: that share of trace ids. */
  readonly ratio: number;
}

/** The BatchSpanProcessor's bounds: past maxQueueSize, spans are dropped (and counted), never waited for. */
export interface QueueSettings {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly exportTimeoutMillis: number;
}

export interface TracingSettings {
  /** The OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces. */
  readonly tracesUrl: string;
  /** Sent with every export; names in lower case. They may hold secrets: never logged. */
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  /** From OTEL_RESOURCE_ATTRIBUTES (service.name taken out: it is serviceName). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: SamplerSettings;
  /** Servers' processes get the OTEL_* environment (child-env.ts). */
  readonly serverEnv: boolean;
  readonly queue: QueueSettings;
}

export interface ResolvedTracing {
  readonly settings: TracingSettings | undefined;
  readonly warnings: string[];
}

export const DEFAULT_SERVICE_NAME = 'mcpmux';
export const DEFAULT_SAMPLER: SamplerSettings = Object.freeze({ parentBased: true, ratio: 1 });
export const DEFAULT_QUEUE: QueueSettings = Object.freeze({ maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 });

/** OTEL_TRACES_SAMPLER's values (case-insensitive); the ratio ones read OTEL_TRACES_SAMPLER_ARG. */
const SAMPLERS: Readonly<Record<string, { parentBased: boolean; ratio: number | 'arg' }>> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false, ratio: 'arg' },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true, ratio: 'arg' },
};

const SIGNAL_PATH = '/v1/traces';

export function resolveTracing(config: TracingConfig | undefined, env: NodeJS.ProcessEnv): ResolvedTracing {
  const warnings: string[] = [];
  const read: Read = (name) => env[name]?.trim() || undefined;
  if (isDisabled(read('OTEL_SDK_DISABLED'), warnings)) {
    if (config?.endpoint !== undefined) warnings.push('tracing.endpoint is set, but OTEL_SDK_DISABLED=true turns tracing off');
    return { settings: undefined, warnings };
  }
  const tracesUrl = config?.endpoint !== undefined ? appendSignalPath(config.endpoint, true) : envTracesUrl(read, warnings);
  if (tracesUrl === undefined) return { settings: undefined, warnings };
  const resource = readResourceAttributes(read('OTEL_RESOURCE_ATTRIBUTES'), warnings);
  const { 'service.name': resourceServiceName, ...resourceAttributes } = resource;
  const settings: TracingSettings = {
    tracesUrl,
    headers: {
      ...readHeaders('OTEL_EXPORTER_OTLP_HEADERS', read, warnings),
      ...readHeaders('OTEL_EXPORTER_OTLP_TRACES_HEADERS', read, warnings),
      ...lowerCaseKeys(config?.headers ?? {}),
    },
    serviceName: config?.serviceName ?? read('OTEL_SERVICE_NAME') ?? resourceServiceName ?? DEFAULT_SERVICE_NAME,
    resourceAttributes,
    sampler: config?.sampler ? { parentBased: true, ratio: config.sampler.ratio } : readSampler(read, warnings),
    serverEnv: config?.serverEnv ?? false,
    queue: readQueue(read, warnings),
  };
  return { settings, warnings };
}

/** `/v1/traces` after the endpoint's path (a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is); `unlessPresent`: not twice. */
export function appendSignalPath(endpoint: string, unlessPresent = false): string {
  const url = new URL(endpoint);
  if (unlessPresent && url.pathname.replace(/\/+$/, '').endsWith(SIGNAL_PATH)) return url.href;
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${SIGNAL_PATH}`;
  return url.href;
}

function isDisabled(value: string | undefined, warnings: string[]): boolean {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (lower !== 'true' && lower !== 'false') warnings.push(`OTEL_SDK_DISABLED: expected true or false, got "${value}"; using false`);
  return lower === 'true';
}

type Read = (name: string) => string | undefined;

function envTracesUrl(read: Read, warnings: string[]): string | undefined {
  const traces = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces !== undefined) {
    if (isHttpUrl(traces)) return traces;
    warnings.push(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http(s) URL, got "${traces}"; ignored`);
  }
  const base = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base === undefined) return undefined;
  if (isHttpUrl(base)) return appendSignalPath(base);
  warnings.push(`OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL, got "${base}"; ignored`);
  return undefined;
}

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}

/** The whole variable is discarded when any entry is invalid, as the resource SDK specification says. */
function readResourceAttributes(text: string | undefined, warnings: string[]): Record<string, string> {
  if (text === undefined) return {};
  const { values, invalid } = parseKeyValues(text);
  if (invalid.length === 0) return values;
  warnings.push(`OTEL_RESOURCE_ATTRIBUTES: cannot read ${invalid.map((e) => `"${e}"`).join(', ')} (key=value, values percent-encoded); the variable is ignored`);
  return {};
}

/** An invalid entry is left out; the others are kept, as the OTLP exporters do. */
function readHeaders(name: string, read: Read, warnings: string[]): Record<string, string> {
  const text = read(name);
  if (text === undefined) return {};
  const { values, invalid } = parseKeyValues(text);
  // Only the keys: a header's value may be a secret.
  if (invalid.length > 0) warnings.push(`${name}: ${invalid.length} entr${invalid.length === 1 ? 'y' : 'ies'} not of the form key=value (values percent-encoded) left out`);
  return lowerCaseKeys(values);
}

function lowerCaseKeys(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key.toLowerCase(), value]));
}

function readSampler(read: Read, warnings: string[]): SamplerSettings {
  const name = read('OTEL_TRACES_SAMPLER');
  if (name === undefined) return DEFAULT_SAMPLER;
  const known = SAMPLERS[name.toLowerCase()];
  if (!known) {
    warnings.push(`OTEL_TRACES_SAMPLER: expected one of ${Object.keys(SAMPLERS).join(', ')}, got "${name}"; using parentbased_always_on`);
    return DEFAULT_SAMPLER;
  }
  if (known.ratio !== 'arg') return { parentBased: known.parentBased, ratio: known.ratio };
  const arg = read('OTEL_TRACES_SAMPLER_ARG');
  if (arg === undefined) return { parentBased: known.parentBased, ratio: 1 };
  const ratio = Number(arg);
  if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return { parentBased: known.parentBased, ratio };
  warnings.push(`OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "${arg}"; using 1`);
  return { parentBased: known.parentBased, ratio: 1 };
}

function readQueue(read: Read, warnings: string[]): QueueSettings {
  const whole = (name: string, fallback: number, min: number) => {
    const text = read(name);
    if (text === undefined) return fallback;
    if (/^\d+$/.test(text) && Number(text) >= min) return Number(text);
    warnings.push(`${name}: expected a whole number of at least ${min}, got "${text}"; using ${fallback}`);
    return fallback;
  };
  const maxQueueSize = whole('OTEL_BSP_MAX_QUEUE_SIZE', DEFAULT_QUEUE.maxQueueSize, 1);
  let maxExportBatchSize = whole('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', Math.min(DEFAULT_QUEUE.maxExportBatchSize, maxQueueSize), 1);
  if (maxExportBatchSize > maxQueueSize) {
    warnings.push(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ${maxExportBatchSize} is more than the queue holds (${maxQueueSize}); using ${maxQueueSize}`);
    maxExportBatchSize = maxQueueSize;
  }
  return {
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis: whole('OTEL_BSP_SCHEDULE_DELAY', DEFAULT_QUEUE.scheduledDelayMillis, 0),
    exportTimeoutMillis: whole('OTEL_BSP_EXPORT_TIMEOUT', DEFAULT_QUEUE.exportTimeoutMillis, 1),
  };
}
