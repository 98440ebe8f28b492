/**
 * Tracing as mcpmux itself starts it (app.ts): the settings resolved from the config and the
 * environment, what could not be read logged, one `tracing on` line, and the SDK started. A
 * tracer that cannot start is logged and left out: mcpmux serves without traces, never fails for them.
 */
import type { Logger } from 'pino';
import type { TracingConfig } from '../config/schema.js';
import { McpmuxError } from '../errors.js';
import { resolveTracing, type SamplerSettings, type TracingSettings } from './settings.js';
import { startTracing, type Tracing } from './start.js';

export interface AppTracing {
  /** Undefined when tracing is off. */
  readonly settings: TracingSettings | undefined;
  /** Undefined when off, or when the SDK could not start. */
  readonly tracing: Tracing | undefined;
}

export async function startAppTracing(config: TracingConfig | undefined, env: NodeJS.ProcessEnv, log: Logger): Promise<AppTracing> {
  const tracingLog = log.child({ component: 'tracing' });
  const { settings, warnings } = resolveTracing(config, env);
  for (const warning of warnings) tracingLog.warn(warning);
  if (!settings) return { settings, tracing: undefined };
  try {
    const tracing = await startTracing(settings, {
      onWarning: ({ kind, message, suppressed }) => tracingLog.warn({ kind, ...(suppressed > 0 && { suppressed }) }, suppressed > 0 ? `${message} (and ${suppressed} more like it in the last minute)` : message),
    });
    // Never the headers: they may hold the collector's credentials.
    tracingLog.info({ tracesUrl: settings.tracesUrl, serviceName: settings.serviceName, sampler: describeSampler(settings.sampler), serverEnv: settings.serverEnv }, 'tracing on');
    return { settings, tracing };
  } catch (error) {
    tracingLog.error({ err: error, code: error instanceof McpmuxError ? error.code : undefined }, 'tracing could not start: serving without traces');
    return { settings, tracing: undefined };
  }
}

/** `parent-based ratio 0.1`, `always on`, …: the sampler as a person reads it. */
export function describeSampler({ parentBased, ratio }: SamplerSettings): string {
  const root = ratio >= 1 ? 'always on' : ratio <= 0 ? 'always off' : `ratio ${ratio}`;
  return parentBased ? `parent-based ${root}` : root;
}

/** The one line `mcpmux check` gives tracing: where to, as which service, sampled how. */
export function describeTracing(settings: TracingSettings): string {
  return `tracing: on, ${settings.tracesUrl}, service ${settings.serviceName}, sampler ${describeSampler(settings.sampler)}, servers' env: ${settings.serverEnv ? 'on' : 'off'}`;
}
