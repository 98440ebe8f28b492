/**
 * The trace context a JSON-RPC body carries (SEP-414: `params._meta.traceparent`, `tracestate`),
 * its request id, and the body the process gets: the same bytes when no message carries a trace
 * context, else every message's `_meta` trace keys replaced by mcpmux's hop's.
 */
import type { JsonRpcFacts } from './request-spans.js';

/** The `_meta` keys of W3C trace context; baggage passes as the client sent it. */
const CONTEXT_KEYS = ['traceparent', 'tracestate'] as const;

export interface BodyContext {
  /** The first message's facts (a batch's first member), or undefined when the body is not JSON-RPC. */
  readonly message: JsonRpcFacts | undefined;
  /** The body with `headers`' trace context in place of each message's own, or undefined when no message had one. */
  rewrite(headers: Readonly<Record<string, string>>): Buffer | undefined;
}

const NONE: BodyContext = Object.freeze({ message: undefined, rewrite: () => undefined });

export function readBodyContext(body: Buffer): BodyContext {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return NONE;
  }
  const messages = (Array.isArray(parsed) ? parsed : [parsed]).filter(isObject);
  const first = messages[0];
  if (first === undefined) return NONE;
  const metaOf = (message: Record<string, unknown>) => {
    const params = message.params;
    const meta = isObject(params) ? params._meta : undefined;
    return isObject(meta) ? meta : undefined;
  };
  const id = first.id;
  const message: JsonRpcFacts = { id: typeof id === 'string' || typeof id === 'number' ? id : undefined, meta: metaOf(first) };
  const carrying = messages.filter((m) => CONTEXT_KEYS.some((key) => typeof metaOf(m)?.[key] === 'string'));
  return {
    message,
    rewrite(headers) {
      if (carrying.length === 0) return undefined;
      for (const m of carrying) {
        const meta = metaOf(m)!;
        for (const key of CONTEXT_KEYS) {
          if (headers[key] !== undefined) meta[key] = headers[key];
          else delete meta[key];
        }
      }
      return Buffer.from(JSON.stringify(parsed));
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
