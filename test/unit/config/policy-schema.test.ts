import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinPath } from '../../../src/config/expand.js';
import { policySchema } from '../../../src/config/policy-schema.js';

function issuesOf(raw: unknown): string[] {
  const parsed = policySchema.safeParse(raw);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${joinPath(issue.path)}: ${issue.code === 'invalid_key' ? issue.issues[0]?.message : issue.message}`);
}

describe('policy schema, one rule each', () => {
  const cases: [string, unknown, string[]][] = [
    ['a scope with a space', { scopes: ['math read'] }, ['scopes.0: must be a scope token: printable ASCII without spaces, " or \\']],
    ['a scope with a quote', { tools: { add: { scopes: ['a"b'] } } }, ['tools.add.scopes.0: must be a scope token: printable ASCII without spaces, " or \\']],
    ['an empty scope', { scopes: [''] }, ['scopes.0: must be a scope token: printable ASCII without spaces, " or \\']],
    ['an empty name', { tools: { '': { scopes: ['x'] } } }, ['tools.: a name or glob must not be empty']],
    ['a rule with neither scopes nor when', { prompts: { p: {} } }, ['prompts.p: must set scopes or when (a rule with neither changes nothing)']],
    ['a blank when', { tools: { a: { when: '  ' } } }, ['tools.a.when: must not be empty']],
    ['an unknown rule key', { tools: { a: { scopes: ['x'], role: 'admin' } } }, ['tools.a: Unrecognized key: "role"']],
    ['an unknown policy key', { scope: ['x'] }, ['(root): Unrecognized key: "scope"']],
    ['tools as a list', { tools: ['add'] }, ['tools: must be a map of name or glob to { scopes, when }']],
  ];
  for (const [name, raw, expected] of cases) it(name, () => assert.deepEqual(issuesOf(raw).map((line) => line.replace(/^: /, '(root): ')), expected));

  it('defaults every part to empty', () => assert.deepEqual(policySchema.parse({}), { scopes: [], tools: {}, prompts: {}, resources: {} }));

  it('keeps a rule as written, when trimmed', () => {
    assert.deepEqual(policySchema.parse({ resources: { 'file:///*': { when: ' kind == "resource" ' } } }).resources, { 'file:///*': { scopes: [], when: 'kind == "resource"' } });
  });
});
