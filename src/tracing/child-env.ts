/**
 * Tracing in the environment of mcpmux's children. Pure.
 * - With tracing.serverEnv, every server's processes get the OTEL_* variables that make an
 *   instrumented process export to the same collector, as service <server name>; the server's own
 *   `env` still wins (supervisor/child-env.ts puts these under it).
 * - A stdio server's bridge (`mcpmux bridge`, part of mcpmux) gets MCPMUX_TRACING whenever
 *   tracing is on, to trace its own hop (bridge-env.ts); the stdio server never sees it.
 */
import type { ServerConfig } from '../config/schema.js';
import type { AddEnv } from '../supervisor/child-env.js';
import { bridgeTracingEnv } from './bridge-env.js';
import { formatKeyValues } from './key-values.js';
import type { TracingSettings } from './settings.js';

/**
 * The OTEL_* environment of a process that joins mcpmux's traces: the same collector (OTLP/HTTP
 * protobuf) and headers, its own service name, and a sampler that follows mcpmux's decision
 * (parent-based), with mcpmux's ratio for a trace the process starts itself.
 */
export function tracingEnv(settings: TracingSettings, serviceName: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: settings.tracesUrl,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    ...(Object.keys(settings.headers).length > 0 && { OTEL_EXPORTER_OTLP_TRACES_HEADERS: formatKeyValues(settings.headers) }),
    OTEL_SERVICE_NAME: serviceName,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(settings.sampler.ratio),
  };
}

/** What tracing adds to each server's processes' environment, for the supervisor. */
export function addTracingEnv(settings: TracingSettings): AddEnv {
  return (server: Pick<ServerConfig, 'name' | 'transport'>) => ({
    env: settings.serverEnv ? tracingEnv(settings, server.name) : {},
    bridge: server.transport === 'stdio' ? bridgeTracingEnv(settings, server.name) : {},
  });
}
