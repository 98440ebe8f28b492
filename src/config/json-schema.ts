/**
 * The config schema as JSON Schema (draft-07), for tools that cannot run zod: the Helm chart's
 * values.schema.json is generated from it (`npm run chart:schema`), so the chart and mcpmux accept
 * the same servers. Input side: fields with defaults are optional, as a user writes them.
 */
import { z } from 'zod';
import { configSchema, serverSchema } from './schema.js';

type JsonSchema = Record<string, unknown>;

/** One entry of the `servers` map. */
export function serverJsonSchema(): JsonSchema {
  return toDraft7(serverSchema);
}

/** The top-level `auth` block (bearer tokens, oauth): a server's own `auth` takes the same shape. */
export function authJsonSchema(): JsonSchema {
  return toDraft7(configSchema.shape.auth.unwrap());
}

/** The top-level `tracing` block. */
export function tracingJsonSchema(): JsonSchema {
  return toDraft7(configSchema.shape.tracing.unwrap());
}

/** The `shutdown` block. */
export function shutdownJsonSchema(): JsonSchema {
  return toDraft7(configSchema.shape.shutdown);
}

function toDraft7(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return withoutFormats(json) as JsonSchema;
}

/**
 * zod names formats of its own (`starts_with`) beside the pattern that already says the same;
 * a validator that does not know a format may refuse the schema, so they are left out.
 */
function withoutFormats(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutFormats);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) if (key !== 'format') out[key] = withoutFormats(inner);
  return out;
}
