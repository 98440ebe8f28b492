/**
 * What a request body calls, on a route with a policy: read from the whole body, never from
 * headers, since this is where a forbidden call would be smuggled past the policy.
 *
 * - The body is parsed once; the policy decides on what was parsed, and the child gets that same
 *   value written back out (`canonical`), so no difference between mcpmux's JSON parser and the
 *   child's (a repeated key, a lone surrogate, invalid UTF-8) can make the child see another call.
 * - A 2026-07-28 request names its call in `Mcp-Method` and `Mcp-Name` too: a header that
 *   disagrees with the body is a HeaderMismatch (-32020), as the spec has any server that reads
 *   the body answer it.
 * - A JSON-RPC batch (2025-03-26) is checked member by member.
 */
import { decodeHeaderValue } from '../header-value.js';

import { isListMethod, type ListMethod } from './list-filter.js';
import type { PolicyKind } from './policy.js';

export type CallKind = PolicyKind;

/** One JSON-RPC message of a body, as far as the policy cares. */
export interface BodyMessage {
  readonly id: string | number | null | undefined;
  readonly method: string | undefined;
  /** tools/call, prompts/get, resources/read: what is called. */
  readonly call: { readonly kind: CallKind; readonly name: string } | undefined;
  /** tools/list, prompts/list, resources/list: the answer is filtered (list-filter.ts). */
  readonly list: ListMethod | undefined;
}

export type BodyCalls =
  | { readonly ok: true; readonly batch: boolean; readonly messages: readonly BodyMessage[]; readonly canonical: Buffer }
  | { readonly ok: false; readonly reason: string };

const CALLS: ReadonlyMap<string, [CallKind, 'name' | 'uri']> = new Map([
  ['tools/call', ['tool', 'name']],
  ['prompts/get', ['prompt', 'name']],
  ['resources/read', ['resource', 'uri']],
]);

export function readBodyCalls(body: Buffer): BodyCalls {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const batch = Array.isArray(value);
  const members = batch ? (value as unknown[]) : [value];
  if (batch && members.length === 0) return { ok: false, reason: 'an empty batch' };
  const messages: BodyMessage[] = [];
  for (const member of members) {
    const message = readMessage(member);
    if (typeof message === 'string') return { ok: false, reason: message };
    messages.push(message);
  }
  return { ok: true, batch, messages, canonical: Buffer.from(JSON.stringify(value), 'utf8') };
}

function readMessage(value: unknown): BodyMessage | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a JSON-RPC message must be an object';
  const record = value as Record<string, unknown>;
  const id = record.id as BodyMessage['id'];
  const method = record.method;
  if (method === undefined) return { id, method: undefined, call: undefined, list: undefined };
  if (typeof method !== 'string') return 'a method must be a string';
  const named = CALLS.get(method);
  if (named) {
    const params = record.params;
    const name = params !== null && typeof params === 'object' ? (params as Record<string, unknown>)[named[1]] : undefined;
    // Without a name the child refuses the call; mcpmux refuses it first, so no rule is skipped.
    if (typeof name !== 'string') return `${method} needs params.${named[1]} as a string`;
    return { id, method, call: { kind: named[0], name }, list: undefined };
  }
  return { id, method, call: undefined, list: isListMethod(method) ? method : undefined };
}

/**
 * Where the 2026-07-28 headers disagree with the body: the message for a HeaderMismatch, or
 * undefined. A request without `Mcp-Method` (an older client) has nothing to disagree with.
 */
export function findHeaderMismatch(headers: Readonly<Record<string, string | string[] | undefined>>, calls: Extract<BodyCalls, { ok: true }>): string | undefined {
  const method = headers['mcp-method'];
  const name = headers['mcp-name'];
  if (method === undefined && name === undefined) return undefined;
  if (calls.batch) return 'Header mismatch: Mcp-Method names one call, the body is a batch';
  const [message] = calls.messages;
  if (typeof method !== 'string') return 'Header mismatch: Mcp-Name without Mcp-Method';
  if (method !== message!.method) return `Header mismatch: Mcp-Method header value '${clip(method)}' does not match body value '${clip(message!.method ?? '')}'`;
  const called = message!.call?.name;
  if (called === undefined) return name === undefined ? undefined : 'Header mismatch: Mcp-Name on a call that names nothing';
  if (typeof name !== 'string') return 'Header mismatch: Mcp-Name is required for this method';
  const decoded = decodeHeaderValue(name);
  return decoded === called ? undefined : `Header mismatch: Mcp-Name header value '${clip(decoded)}' does not match body value '${clip(called)}'`;
}

/** Values a client chose, cut short for a message. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
