/**
 * The 2026-07-28 wire's header value encoding (streamable HTTP, "Value Encoding"): a value that is
 * not plain visible ASCII travels as `=?base64?<base64 of its UTF-8>?=`. Read by the metrics
 * (proxy/mcp-call.ts) and by the policy's header check (auth/calls.ts).
 */
const BASE64 = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/;

/** A header value as text: base64-encoded values decoded, others as they are. */
export function decodeHeaderValue(value: string): string {
  const encoded = BASE64.exec(value)?.[1];
  return encoded === undefined ? value : Buffer.from(encoded, 'base64').toString('utf8');
}
