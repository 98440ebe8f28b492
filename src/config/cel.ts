/**
 * The `when` conditions of a policy (config/policy-schema.ts) as CEL: the one environment they
 * are written against, and the check the loader runs on each at load, so that a bad expression is
 * a config error (`path: message`, with its line and column) and a reload with one changes
 * nothing. auth/policy.ts compiles them, from here, for evaluation.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { ConfigProblem } from '../errors.js';
import type { PolicyConfig } from './policy-schema.js';

let environment: Environment | undefined;

/** One environment for every policy: building one is the costly part; parse() does not change it. */
function celEnvironment(): Environment {
  environment ??= new Environment({ enableOptionalTypes: true })
    .registerVariable('claims', 'map')
    .registerVariable('name', 'string')
    .registerVariable('server', 'string')
    .registerVariable('kind', 'string');
  return environment;
}

/** A condition parsed and type-checked: its expression, and what is wrong with it (a parse error has no expression). */
export type CompiledCondition = { readonly expression: ParseResult; readonly problem?: string } | { readonly problem: string };

export function compileCondition(source: string): CompiledCondition {
  let expression: ParseResult;
  try {
    expression = celEnvironment().parse(source);
  } catch (error) {
    return { problem: describeCelError(error, source) };
  }
  const checked = expression.check();
  if (!checked.valid) return { expression, problem: describeCelError(checked.error, source) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') return { expression, problem: `must be a condition (a bool), got ${checked.type}` };
  return { expression };
}

/** Every condition of a policy that does not compile, at its path (`servers.math.policy.tools.admin_*.when`). */
export function checkPolicyConditions(policy: PolicyConfig, at: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const section of ['tools', 'prompts', 'resources'] as const) {
    for (const [key, rule] of Object.entries(policy[section])) {
      if (rule.when === undefined) continue;
      const { problem } = compileCondition(rule.when);
      if (problem !== undefined) problems.push({ path: `${at}.${section}.${key}.when`, message: problem });
    }
  }
  return problems;
}

/** The library's one-line summary and where in the expression, as `line:column`. */
function describeCelError(error: unknown, source: string): string {
  const { summary, message, range } = (error ?? {}) as { summary?: string; message?: string; range?: { start: number } };
  const text = summary ?? message?.split('\n')[0] ?? String(error);
  if (range === undefined) return text;
  const before = source.slice(0, range.start).split('\n');
  return `${text} (at ${before.length}:${(before.at(-1)?.length ?? 0) + 1})`;
}
