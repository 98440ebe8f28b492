/**
 * The `key=value,key2=value2` lists of the OTel environment (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS): W3C Baggage's format, values percent-encoded. Pure.
 */

export interface ParsedKeyValues {
  readonly values: Record<string, string>;
  /** Entries that could not be read: no `=`, an empty key, or a value that is not valid percent-encoding. */
  readonly invalid: readonly string[];
}

/** Reads a list; empty entries (a trailing comma) are skipped, later keys win. */
export function parseKeyValues(text: string): ParsedKeyValues {
  const values: Record<string, string> = {};
  const invalid: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = eq === -1 ? '' : entry.slice(0, eq).trim();
    if (key === '') {
      invalid.push(entry);
      continue;
    }
    try {
      values[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      invalid.push(entry);
    }
  }
  return { values, invalid };
}

/** Writes a list that parseKeyValues (and every OTel SDK) reads back: values percent-encoded, keys as they are. */
export function formatKeyValues(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join(',');
}
