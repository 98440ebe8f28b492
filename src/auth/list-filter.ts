/**
 * A caller's list leaves out what it may not call: the answer to `tools/list`, `prompts/list` or
 * `resources/list`, as a JSON body or as one event of an SSE answer (sse-list-filter.ts), with the
 * items the caller is not allowed taken out. Each page is filtered on its own; `nextCursor` and
 * every other field stay. A JSON-RPC error, a body that is not JSON, and any message that is not
 * the answer to the list request pass unchanged, byte for byte.
 *
 * `resources/templates/list` is not filtered: a template (`file:///{path}`) is not a URI a caller
 * reads, and whether a policy allows some or none of its expansions is not decidable from a glob
 * and a CEL condition. Every `resources/read` of an expansion is still decided on its own URI.
 *
 * An item without its name (a tool with no string `name`) is left out: what cannot be decided is
 * not shown. A filtered answer is written anew by JSON.stringify: whitespace goes, and an integer
 * past 2^53 in a kept item loses precision; an answer with nothing left out is never rewritten.
 */
import type { Policy, PolicyCaller, PolicyKind } from './policy.js';

/** The list methods whose answers are filtered: where each answer holds its items, and their name. */
export const LIST_METHODS = {
  'tools/list': { field: 'tools', key: 'name', kind: 'tool' },
  'prompts/list': { field: 'prompts', key: 'name', kind: 'prompt' },
  'resources/list': { field: 'resources', key: 'uri', kind: 'resource' },
} as const satisfies Record<string, { field: string; key: string; kind: PolicyKind }>;

export type ListMethod = keyof typeof LIST_METHODS;

export type JsonRpcId = string | number;

/** The list request whose answer is filtered. */
export interface ListRequest {
  readonly id: JsonRpcId;
  readonly method: ListMethod;
}

export type AllowName = (name: string) => boolean;

export function isListMethod(method: string): method is ListMethod {
  return Object.hasOwn(LIST_METHODS, method);
}

/** What a caller may see of a list: what the policy allows it to call, scopes and `when` both. */
export function allowByPolicy(policy: Pick<Policy, 'decide'>, method: ListMethod, caller: PolicyCaller): AllowName {
  const { kind } = LIST_METHODS[method];
  return (name) => policy.decide({ kind, name }, caller).allow;
}

/** Whether a parsed message is the answer (result or error) to the request with this id. */
export function isAnswerTo(message: unknown, id: JsonRpcId): message is Record<string, unknown> {
  return isRecord(message) && message.id === id && !('method' in message) && ('result' in message || 'error' in message);
}

/**
 * The list answer with what `allow` refuses left out; the same object when nothing is (an error
 * answer, a result without the list, every item allowed). The caller matches the id.
 */
export function filterListMessage(message: unknown, method: ListMethod, allow: AllowName): unknown {
  if (!isRecord(message) || !isRecord(message.result)) return message;
  const { field, key } = LIST_METHODS[method];
  const items = message.result[field];
  if (!Array.isArray(items)) return message;
  const kept = items.filter((item: unknown) => isRecord(item) && typeof item[key] === 'string' && allow(item[key]));
  if (kept.length === items.length) return message;
  return { ...message, result: { ...message.result, [field]: kept } };
}

/**
 * A JSON body (`application/json`) answering the list request, filtered: the answer itself, or
 * its member of a batch answer. The same Buffer when nothing changes or the body is not JSON.
 */
export function filterListBody(body: Buffer, request: ListRequest, allow: AllowName): Buffer {
  let message: unknown;
  try {
    message = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  const filtered = filterParsedAnswer(message, request, allow);
  return filtered === message ? body : Buffer.from(JSON.stringify(filtered), 'utf8');
}

/** A parsed JSON answer, one message or a batch's, with the list answering `request` filtered; the same value when nothing changes. */
export function filterParsedAnswer(message: unknown, request: ListRequest, allow: AllowName): unknown {
  return Array.isArray(message) ? filterBatch(message, request, allow) : filterAnswer(message, request, allow);
}

/** The answer with its list filtered when it answers `request`; otherwise the message itself. */
export function filterAnswer(message: unknown, request: ListRequest, allow: AllowName): unknown {
  return isAnswerTo(message, request.id) ? filterListMessage(message, request.method, allow) : message;
}

function filterBatch(batch: unknown[], request: ListRequest, allow: AllowName): unknown[] {
  let changed = false;
  const out = batch.map((member) => {
    const filtered = filterAnswer(member, request, allow);
    if (filtered !== member) changed = true;
    return filtered;
  });
  return changed ? out : batch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
