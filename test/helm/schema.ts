/**
 * `npm run chart:schema`: writes the chart's values.schema.json with its `servers` entries,
 * `auth`, `tracing` and `shutdown` generated from mcpmux's own config schema (src/config/json-schema.ts). The rest of the
 * file (image, ports, probes, …) is the chart's own. test/deploy/helm.test.ts fails when the file
 * on disk differs from what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authJsonSchema, serverJsonSchema, shutdownJsonSchema, tracingJsonSchema } from '../../src/config/json-schema.js';
import { ROOT } from '../helpers/paths.js';

export const CHART_SCHEMA = path.join(ROOT, 'deploy/helm/mcpmux/values.schema.json');

interface ChartSchema {
  properties: { servers: { additionalProperties: unknown }; shutdown: unknown; auth: unknown; tracing: unknown };
}

/** The chart's schema with mcpmux's parts generated in. */
export function generateChartSchema(current: ChartSchema): ChartSchema {
  const next = structuredClone(current);
  next.properties.servers.additionalProperties = serverJsonSchema();
  next.properties.shutdown = shutdownJsonSchema();
  next.properties.auth = authJsonSchema();
  next.properties.tracing = tracingJsonSchema();
  return next;
}

/** The file's text, as it should be on disk. */
export function chartSchemaText(): string {
  return `${JSON.stringify(generateChartSchema(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')) as ChartSchema), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(CHART_SCHEMA, chartSchemaText());
  process.stdout.write(`wrote ${path.relative(ROOT, CHART_SCHEMA)}\n`);
}
