/**
 * How mcpmux hands its tracing settings to a stdio server's bridge (`mcpmux bridge`, a process of
 * its own): as JSON in MCPMUX_TRACING, with mcpmux's service name and `mcp.server.name` among the
 * resource attributes. The bridge takes it out of the environment it passes on to the stdio
 * server (bridge/options.ts), which never sees it; it may hold the collector's headers.
 */
import { z } from 'zod';
import type { ResolvedTracing, TracingSettings } from './settings.js';

export const TRACING_ENV = 'MCPMUX_TRACING';

/** The bridge of `server`'s tracing, as an environment variable. */
export function bridgeTracingEnv(settings: TracingSettings, server: string): Record<string, string> {
  const forBridge: TracingSettings = { ...settings, resourceAttributes: { ...settings.resourceAttributes, 'mcp.server.name': server } };
  return { [TRACING_ENV]: JSON.stringify(forBridge) };
}

const count = z.number().int().min(0);
const settingsSchema = z.strictObject({
  tracesUrl: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()),
  serviceName: z.string().min(1),
  resourceAttributes: z.record(z.string(), z.string()),
  sampler: z.strictObject({ parentBased: z.boolean(), ratio: z.number().min(0).max(1) }),
  serverEnv: z.boolean(),
  queue: z.strictObject({ maxQueueSize: count.min(1), maxExportBatchSize: count.min(1), scheduledDelayMillis: count, exportTimeoutMillis: count.min(1) }),
}) satisfies z.ZodType<TracingSettings>;

/**
 * The bridge's tracing, from its environment: undefined when MCPMUX_TRACING is not set (tracing is
 * off). One that cannot be read is a warning, and no tracing: tracing never keeps a bridge from serving.
 */
export function readBridgeTracing(env: NodeJS.ProcessEnv): ResolvedTracing {
  const text = env[TRACING_ENV];
  if (text === undefined || text === '') return { settings: undefined, warnings: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { settings: undefined, warnings: [`${TRACING_ENV}: not JSON; tracing is off in this bridge`] };
  }
  const parsed = settingsSchema.safeParse(json);
  if (parsed.success) return { settings: parsed.data, warnings: [] };
  const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
  return { settings: undefined, warnings: [`${TRACING_ENV}: not tracing settings (${where}); tracing is off in this bridge`] };
}
