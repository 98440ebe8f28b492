/**
 * Which MCP call a request carries, for the metrics and the access log, read without buffering or
 * delaying anything: under 2026-07-28 from the headers the spec adds for intermediaries
 * (`Mcp-Method`, `Mcp-Name`, `MCP-Protocol-Version`), and from older clients from the first chunk
 * of a POST body as it passes (the JSON-RPC `method`, and `params.name` or `params.uri`).
 * Clients choose these values: a method outside the spec's is `other`, and a name is cut short.
 */

import type { McpCall } from '../events.js';
import { decodeHeaderValue } from '../header-value.js';

/**
 * `method`: a method of the MCP spec, `other`, or `batch`; `name`: the tool or prompt name, or
 * the resource URI, for tools/call, prompts/get and resources/read; `protocol`: the
 * MCP-Protocol-Version header, if a known one.
 */
export type { McpCall };

/** Every method of the MCP spec, both generations: requests and notifications a client sends. */
export const MCP_METHODS: ReadonlySet<string> = new Set([
  'initialize', 'ping', 'server/discover',
  'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list', 'resources/subscribe', 'resources/unsubscribe',
  'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel', 'subscriptions/listen',
  'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed',
]);

/** Methods whose call names a tool, a prompt or a resource, and the param that holds it. */
const NAMED: ReadonlyMap<string, string> = new Map([['tools/call', 'name'], ['prompts/get', 'name'], ['resources/read', 'uri']]);

export const KNOWN_PROTOCOLS: ReadonlySet<string> = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);

/** A name longer than this is cut: a label and a log field stay small whatever a client sends. */
export const MAX_NAME_LENGTH = 128;
/** How much of a body's first chunk is searched. */
const PEEK_BYTES = 4096;

const METHOD = /"method"\s*:\s*"([^"\\]{1,64})"/;
const NAME = /"name"\s*:\s*"((?:[^"\\]|\\.){1,512})"/;
const URI = /"uri"\s*:\s*"((?:[^"\\]|\\.){1,512})"/;
const RESPONSE = /"(?:result|error)"\s*:/;

export function normalizeMcpMethod(method: string): string {
  return MCP_METHODS.has(method) ? method : 'other';
}

/** The call the 2026-07-28 headers name, or undefined without `Mcp-Method`. */
export function readMcpHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): McpCall | undefined {
  const method = headers['mcp-method'];
  if (typeof method !== 'string') return undefined;
  const normalized = normalizeMcpMethod(method);
  const name = headers['mcp-name'];
  return { method: normalized, name: NAMED.has(normalized) && typeof name === 'string' ? cut(decodeHeaderValue(name)) : undefined, protocol: protocolOf(headers) };
}

/** The protocol version a request declares, if it is a known one. */
export function protocolOf(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const version = headers['mcp-protocol-version'];
  return typeof version === 'string' && KNOWN_PROTOCOLS.has(version) ? version : undefined;
}

/** The call in the first chunk of a POST body, or undefined when it names no method. */
export function peekMcpBody(chunk: Buffer, protocol: string | undefined): McpCall | undefined {
  const text = chunk.toString('utf8', 0, Math.min(chunk.length, PEEK_BYTES));
  const found = METHOD.exec(text);
  // A client's answer to a server request carries a result or an error, not a method of its own.
  if (!found || RESPONSE.exec(text.slice(0, found.index)) !== null) return undefined;
  const method = found[1]!;
  if (text.trimStart().startsWith('[')) return { method: 'batch', name: undefined, protocol };
  const normalized = normalizeMcpMethod(method);
  const param = NAMED.get(normalized);
  const raw = param === undefined ? undefined : (param === 'uri' ? URI : NAME).exec(text)?.[1];
  return { method: normalized, name: raw === undefined ? undefined : cut(unescapeJson(raw)), protocol };
}

const ERROR_CODE = /"error"\s*:\s*\{[^]*?"code"\s*:\s*(-?\d{1,12})\b/;
const RESULT = /"result"\s*:/;
const IS_ERROR = /"isError"\s*:\s*true/;
/** How much of a JSON answer's end is searched for `isError` (the SDKs write it last in a result). */
const TAIL_BYTES = 1024;

/**
 * What a JSON answer says of its call, for `RequestRecord.mcpError`, from its first and last chunk
 * as they passed (nothing is buffered): an error answer's JSON-RPC code (in the first chunk, before
 * any `result`), `tool_error` for a tools/call result with `isError: true` (near the end), else `''`.
 * An error code outside JSON-RPC's reserved range and mcpmux's own is `_OTHER`: servers choose
 * those, and a label stays bounded.
 */
export function readMcpOutcome(method: string, first: Buffer, last: Buffer): string {
  const head = first.toString('utf8', 0, Math.min(first.length, PEEK_BYTES));
  const error = ERROR_CODE.exec(head);
  if (error) {
    const result = RESULT.exec(head);
    if (!result || result.index > error.index) return describeErrorCode(Number(error[1]));
  }
  if (method !== 'tools/call') return '';
  const tail = last === first && first.length <= PEEK_BYTES ? head : last.toString('utf8', Math.max(0, last.length - TAIL_BYTES));
  return IS_ERROR.test(tail) ? 'tool_error' : '';
}

/** A JSON-RPC error code as a label value: JSON-RPC's reserved range and mcpmux's own (see answers.ts) as they are. */
export function describeErrorCode(code: number): string {
  return (code >= -32768 && code <= -32000) || (code >= -31099 && code <= -31001) ? String(code) : '_OTHER';
}

/** `=?base64?…?=` decoded (the 2026-07-28 form of a value that is not plain ASCII); anything else as it is. */
function cut(name: string): string {
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name;
}

/** A JSON string's contents as text: escapes undone. */
function unescapeJson(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
