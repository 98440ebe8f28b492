/**
 * What a caller may do: a server's `policy`, compiled once at load into a value the proxy asks.
 *
 * - Every request of the route needs the route's `scopes`.
 * - A tool, prompt or resource needs, besides, the scopes of every rule whose name or glob matches
 *   it, and every matching rule's `when` must hold. Rules only ever add requirements: an exact
 *   name does not override a glob that also matches, and a name no rule matches needs the route's
 *   scopes alone.
 * - Scopes are checked first: a missing scope is `insufficient_scope`, naming every scope the call
 *   needs (route and rules), since the SDK's client replaces its scope set rather than adding to
 *   it; and a claim a `when` reads may only come with the scope (OIDC releases claims by scope).
 * - `when` is CEL over `claims` (the token's claims, a map), `name` (the tool or prompt name, or
 *   the resource URI), `server` and `kind` (`tool`, `prompt` or `resource`). It fails closed: a
 *   runtime error (a missing claim, a wrong type) or a result that is not a bool denies, as false
 *   does. `has(claims.groups)` or `claims.?groups.orValue([])` test for a claim that may be absent.
 *   `matches()` is a JavaScript RegExp (backtracking, not RE2) run on a name the client chose:
 *   a pattern with nested repetition (`(a+)+`) can be made slow.
 */
import type { ParseResult } from '@marcbachmann/cel-js';
import { compileCondition } from '../config/cel.js';
import type { PolicyConfig, PolicyRuleConfig } from '../config/policy-schema.js';
import type { ConfigProblem } from '../errors.js';
import { compileGlob, type Glob } from './glob.js';

export type PolicyKind = 'tool' | 'prompt' | 'resource';

/** What is being called: a tool or prompt by name, a resource by URI. */
export interface PolicyCall {
  readonly kind: PolicyKind;
  readonly name: string;
}

/** Who calls: the verified token's claims and scopes, on which server. */
export interface PolicyCaller {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly scopes: ReadonlySet<string>;
  readonly server: string;
}

export type PolicyDecision =
  | { readonly allow: true }
  /** `scopes`: every scope the call needs, held or not: the route's, then the matching rules'. */
  | { readonly allow: false; readonly reason: 'insufficient_scope'; readonly scopes: readonly string[] }
  /** `rule`: the name or glob whose `when` denied; `detail`: why, for the log (never for the client: it may quote a claim). */
  | { readonly allow: false; readonly reason: 'denied'; readonly rule: string; readonly detail: string };

export interface Policy {
  /** Scopes every request of the route needs. */
  readonly routeScopes: readonly string[];
  /** Every scope the policy names, route scopes first: RFC 9728 `scopes_supported`. */
  readonly scopesSupported: readonly string[];
  decide(call: PolicyCall, caller: PolicyCaller): PolicyDecision;
}

/** A policy, or every problem of its expressions (for ConfigError: each reads `path: message`). */
export type CompiledPolicy = { readonly policy: Policy; readonly problems?: undefined } | { readonly policy?: undefined; readonly problems: readonly ConfigProblem[] };

interface Rule {
  /** The key as written: the glob reported when its `when` denies. */
  readonly key: string;
  readonly glob: Glob;
  readonly scopes: readonly string[];
  readonly when: ParseResult | undefined;
}

const ALLOW: PolicyDecision = Object.freeze({ allow: true });
const SECTIONS = { tool: 'tools', prompt: 'prompts', resource: 'resources' } as const satisfies Record<PolicyKind, keyof PolicyConfig>;

/**
 * Compiles a server's policy: every `when` parsed and type-checked once. `at` is the policy's
 * config path (`servers.math.policy`); every problem is reported at once, at its `when`'s path.
 */
export function compilePolicy(config: PolicyConfig, at: string): CompiledPolicy {
  const problems: ConfigProblem[] = [];
  const rules = {} as Record<PolicyKind, readonly Rule[]>;
  for (const kind of Object.keys(SECTIONS) as PolicyKind[]) {
    const section = SECTIONS[kind];
    rules[kind] = Object.entries(config[section]).map(([key, rule]) => compileRule(key, rule, `${at}.${section}.${key}.when`, problems));
  }
  if (problems.length > 0) return { problems };
  const routeScopes = Object.freeze(unique(config.scopes));
  const scopesSupported = Object.freeze(unique([...routeScopes, ...Object.values(rules).flatMap((list) => list.flatMap((rule) => rule.scopes))]));
  return { policy: Object.freeze({ routeScopes, scopesSupported, decide: (call: PolicyCall, caller: PolicyCaller) => decide(routeScopes, rules[call.kind], call, caller) }) };
}

function compileRule(key: string, rule: PolicyRuleConfig, where: string, problems: ConfigProblem[]): Rule {
  return { key, glob: compileGlob(key), scopes: Object.freeze(unique(rule.scopes)), when: rule.when === undefined ? undefined : compileWhen(rule.when, where, problems) };
}

function compileWhen(source: string, path: string, problems: ConfigProblem[]): ParseResult | undefined {
  const compiled = compileCondition(source);
  if (compiled.problem !== undefined) problems.push({ path, message: compiled.problem });
  return 'expression' in compiled ? compiled.expression : undefined;
}

function decide(routeScopes: readonly string[], rules: readonly Rule[], call: PolicyCall, caller: PolicyCaller): PolicyDecision {
  let matching: Rule[] | undefined;
  let missing = !holdsAll(caller.scopes, routeScopes);
  for (const rule of rules) {
    if (!rule.glob.test(call.name)) continue;
    (matching ??= []).push(rule);
    if (!missing && !holdsAll(caller.scopes, rule.scopes)) missing = true;
  }
  if (missing) return { allow: false, reason: 'insufficient_scope', scopes: unique([...routeScopes, ...(matching ?? []).flatMap((rule) => rule.scopes)]) };
  if (matching === undefined) return ALLOW;
  let context: Record<string, unknown> | undefined;
  for (const rule of matching) {
    if (rule.when === undefined) continue;
    context ??= { claims: celClaims(caller.claims), name: call.name, server: caller.server, kind: call.kind };
    const detail = evaluate(rule.when, context);
    if (detail !== undefined) return { allow: false, reason: 'denied', rule: rule.key, detail };
  }
  return ALLOW;
}

/** Undefined when the condition holds; otherwise why not. */
function evaluate(when: ParseResult, context: Record<string, unknown>): string | undefined {
  let result: unknown;
  try {
    result = when(context);
  } catch (error) {
    return `the condition failed: ${(error as { summary?: string }).summary ?? String(error)}`;
  }
  if (result === true) return undefined;
  return result === false ? 'the condition is false' : `the condition gave ${describeResult(result)}, not a bool`;
}

function describeResult(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

const converted = new WeakMap<object, ReadonlyMap<string, unknown>>();

/**
 * The claims as CEL maps. The evaluator types a JS object by its `constructor`, so a claim named
 * `constructor` would make every field access an error; a Map has no such key. Kept per claims
 * object, so a token's claims that the verifier caches are converted once.
 */
function celClaims(claims: Readonly<Record<string, unknown>>): ReadonlyMap<string, unknown> {
  let map = converted.get(claims);
  if (map === undefined) converted.set(claims, (map = toCelValue(claims) as ReadonlyMap<string, unknown>));
  return map;
}

function toCelValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value === null || typeof value !== 'object' || value instanceof Map) return value;
  return new Map(Object.entries(value).map(([key, inner]) => [key, toCelValue(inner)]));
}

function holdsAll(held: ReadonlySet<string>, needed: readonly string[]): boolean {
  for (const scope of needed) if (!held.has(scope)) return false;
  return true;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Policies compiled from config objects (frozen at load): every route table built from one config shares its compile. */
const compiled = new WeakMap<PolicyConfig, Policy>();

/** The compiled policy of a config object the loader accepted (its conditions checked by config/cel.ts). */
export function policyOfConfig(config: PolicyConfig): Policy {
  let policy = compiled.get(config);
  if (policy) return policy;
  const result = compilePolicy(config, 'policy');
  if (!result.policy) throw new TypeError('a policy the loader refused reached the route table');
  compiled.set(config, (policy = result.policy));
  return policy;
}
