/**
 * What a reload does, from the running config and the new one (pure: configs in, actions out):
 * - a server only in the new config starts; one only in the old drains and stops;
 * - a server whose changed fields all shape how its route treats requests, or its own policy,
 *   changes at once, and no process is touched (`update`);
 * - a server whose replica count changed, and nothing that needs a new process, gains or loses
 *   replicas, the others untouched (`scale`);
 * - a server with any other changed field (command, args, env, probes, …) rolls: a new process,
 *   the old one drained (`rollout`), one replica at a time, its replica count adjusted too;
 * - a change to a listener (listen.*, admin.*) cannot be applied to a bound socket: the whole
 *   reload is refused, and nothing changes; so is a change to tracing, whose tracer and children's
 *   environment are made at start.
 */
import type { ConfigProblem } from '../errors.js';
import type { Config, ServerConfig } from './schema.js';

/** Fields that change how a route treats requests, or the server's policy: no new process needed. */
export const UPDATE_FIELDS: ReadonlySet<string> = new Set([
  'prefix', 'auth', 'policy', 'forwardIdentity', 'forwardAuthorization', 'maxInFlight', 'upstreamTimeoutSeconds', 'allowUpgrade',
  'drainSeconds', 'restartPolicy', 'backoff', 'terminationGracePeriodSeconds',
]);

export type ServerAction =
  | { readonly action: 'start'; readonly server: ServerConfig }
  | { readonly action: 'remove'; readonly name: string }
  | { readonly action: 'update'; readonly server: ServerConfig; readonly fields: readonly string[] }
  | { readonly action: 'scale'; readonly server: ServerConfig; readonly fields: readonly string[] }
  | { readonly action: 'rollout'; readonly server: ServerConfig; readonly fields: readonly string[] };

export interface ConfigDiff {
  /** One action per server touched, in the new config's order (removals last). */
  readonly actions: readonly ServerAction[];
  /** Changes a running mcpmux cannot apply: when any, the reload applies nothing. */
  readonly refused: readonly ConfigProblem[];
}

const RESTART_SECTIONS = ['listen', 'admin', 'affinity', 'cluster', 'tracing'] as const;

const RESTART_REASONS: Record<(typeof RESTART_SECTIONS)[number], string> = {
  listen: 'its listener is bound',
  admin: 'its listener is bound',
  affinity: 'the session table is sized at start',
  cluster: 'every session id sealed so far depends on it',
  tracing: "the tracer, its exporter and the children's tracing environment are made at start",
};

export function diffConfigs(running: Config, next: Config): ConfigDiff {
  const refused: ConfigProblem[] = [];
  for (const section of RESTART_SECTIONS) {
    for (const path of changedPaths(running[section], next[section], section)) {
      refused.push({ path, message: `changing it needs a restart of mcpmux (${RESTART_REASONS[section]}); the reload changed nothing` });
    }
  }
  const actions: ServerAction[] = [];
  const before = new Map(running.servers.map((s) => [s.name, s]));
  for (const server of next.servers) {
    const old = before.get(server.name);
    if (!old) {
      actions.push({ action: 'start', server });
      continue;
    }
    const fields = changedFields(old, server);
    if (fields.length === 0) continue;
    const kept = fields.filter((f) => f !== 'replicas');
    const action = !kept.every((f) => UPDATE_FIELDS.has(f)) ? 'rollout' : kept.length < fields.length ? 'scale' : 'update';
    actions.push({ action, server, fields });
  }
  const names = new Set(next.servers.map((s) => s.name));
  for (const server of running.servers) if (!names.has(server.name)) actions.push({ action: 'remove', name: server.name });
  return { actions, refused };
}

/** Top-level fields of a server that differ, sorted. */
export function changedFields(a: ServerConfig, b: ServerConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => stableJson((a as unknown as Record<string, unknown>)[key]) !== stableJson((b as unknown as Record<string, unknown>)[key])).sort();
}

/** Dotted paths of the leaves that differ between two values. */
function changedPaths(a: unknown, b: unknown, path: string): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => changedPaths(a[key], b[key], `${path}.${key}`));
  }
  return stableJson(a) === stableJson(b) ? [] : [path];
}

/** JSON with object keys sorted: `env: {A, B}` and `env: {B, A}` are the same config. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (isPlainObject(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v)) ?? 'undefined';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
