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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The `id` of a JSON-RPC request body that is one object, read without parsing the rest: the
 * bytes are scanned for the top-level key `id` (strings and nesting followed, so that an `id`
 * inside `params` is not it). A batch, or an id that is not a plain string or number, goes to
 * readBodyContext. A recorded span's `jsonrpc.request.id` costs this instead of a JSON.parse.
 */
export function readRequestId(body: Buffer): string | number | undefined {
  let i = skipSpace(body, 0);
  if (body[i] !== 0x7b) return readBodyContext(body).message?.id;
  let depth = 0;
  let keyNext = false;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      const end = endOfString(body, i);
      if (end < 0) return undefined;
      if (depth === 1 && keyNext) {
        keyNext = false;
        if (end === i + 3 && body[i + 1] === 0x69 && body[i + 2] === 0x64) {
          const colon = skipSpace(body, end + 1);
          if (body[colon] !== 0x3a) return undefined;
          return readIdValue(body, skipSpace(body, colon + 1));
        }
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      keyNext = c === 0x7b && depth === 1;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return undefined;
    } else if (c === 0x2c && depth === 1) keyNext = true;
  }
  return undefined;
}

/** A string or number id at `at`; anything else (an escape, null, an object) the slow way. */
function readIdValue(body: Buffer, at: number): string | number | undefined {
  if (body[at] === QUOTE) {
    const end = endOfString(body, at);
    if (end < 0) return undefined;
    const escape = body.indexOf(BACKSLASH, at);
    if (escape !== -1 && escape < end) return readBodyContext(body).message?.id;
    return body.toString('utf8', at + 1, end);
  }
  let end = at;
  while (end < body.length && ((body[end]! >= 0x30 && body[end]! <= 0x39) || body[end] === 0x2d || body[end] === 0x2e || body[end] === 0x65 || body[end] === 0x45 || body[end] === 0x2b)) end++;
  if (end === at) return readBodyContext(body).message?.id;
  const value = Number(body.toString('latin1', at, end));
  return Number.isFinite(value) ? value : undefined;
}

/** The index of the quote that closes the string opening at `start`, or -1. */
function endOfString(body: Buffer, start: number): number {
  for (let i = start + 1; i < body.length; i++) {
    const c = body[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}

function skipSpace(body: Buffer, at: number): number {
  while (at < body.length && (body[at] === 0x20 || body[at] === 0x0a || body[at] === 0x0d || body[at] === 0x09)) at++;
  return at;
}
