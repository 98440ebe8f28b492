import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowByPolicy, filterListBody, filterListMessage, isListMethod, type ListMethod } from '../../../src/auth/list-filter.js';
import { compilePolicy } from '../../../src/auth/policy.js';
import { policySchema } from '../../../src/config/policy-schema.js';

const allowNoAdmin = (name: string) => !name.startsWith('admin') && !name.startsWith('secret');
const answer = (result: unknown, id: string | number = 1) => ({ jsonrpc: '2.0', id, result });

describe('list answers leave out what the caller may not call', () => {
  const cases: [string, ListMethod, unknown, unknown][] = [
    ['tools/list, by name', 'tools/list', answer({ tools: [{ name: 'add', inputSchema: {} }, { name: 'admin_drop' }] }), answer({ tools: [{ name: 'add', inputSchema: {} }] })],
    ['prompts/list, by name', 'prompts/list', answer({ prompts: [{ name: 'admin' }, { name: 'greet', arguments: [] }] }), answer({ prompts: [{ name: 'greet', arguments: [] }] })],
    ['resources/list, by uri', 'resources/list', answer({ resources: [{ uri: 'secret://a', name: 'add' }, { uri: 'file:///a', name: 'admin' }] }), answer({ resources: [{ uri: 'file:///a', name: 'admin' }] })],
    ['a page keeps its nextCursor and other fields', 'tools/list', answer({ tools: [{ name: 'admin' }, { name: 'b' }], nextCursor: 'page-3', _meta: { x: 1 } }), answer({ tools: [{ name: 'b' }], nextCursor: 'page-3', _meta: { x: 1 } })],
    ['a page left empty is still a page', 'tools/list', answer({ tools: [{ name: 'admin' }], nextCursor: 'c' }), answer({ tools: [], nextCursor: 'c' })],
    ['an item without its name is left out', 'tools/list', answer({ tools: [{ name: 'a' }, { title: 'no name' }, { name: 7 }, 'add', null] }), answer({ tools: [{ name: 'a' }] })],
  ];
  for (const [name, method, message, expected] of cases) it(name, () => assert.deepEqual(filterListMessage(message, method, allowNoAdmin), expected));

  const unchanged: [string, ListMethod, unknown][] = [
    ['every item allowed', 'tools/list', answer({ tools: [{ name: 'a' }, { name: 'b' }] })],
    ['a JSON-RPC error', 'tools/list', { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }],
    ['a result without the list', 'tools/list', answer({ prompts: [{ name: 'admin' }] })],
    ['a list that is not an array', 'tools/list', answer({ tools: { name: 'admin' } })],
    ['not an object', 'tools/list', 'admin'],
    ['null', 'tools/list', null],
  ];
  for (const [name, method, message] of unchanged) it(`leaves ${name} as it is (the same value)`, () => assert.equal(filterListMessage(message, method, allowNoAdmin), message));

  it('filters resources/list, not resources/templates/list', () => {
    assert.equal(isListMethod('resources/list'), true);
    assert.equal(isListMethod('resources/templates/list'), false);
    assert.equal(isListMethod('toString'), false);
  });
});

describe('list answers as JSON bodies', () => {
  const request = { id: 7, method: 'tools/list' as const };
  const body = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('rewrites the answer to the request', () => {
    const out = filterListBody(body(answer({ tools: [{ name: 'admin' }, { name: 'add' }], nextCursor: 'n' }, 7)), request, allowNoAdmin);
    assert.deepEqual(JSON.parse(out.toString()), answer({ tools: [{ name: 'add' }], nextCursor: 'n' }, 7));
  });

  it('filters its member of a batch answer, and only it', () => {
    const batch = [answer({ tools: [{ name: 'admin' }] }, 6), answer({ tools: [{ name: 'admin' }, { name: 'add' }] }, 7)];
    assert.deepEqual(JSON.parse(filterListBody(body(batch), request, allowNoAdmin).toString()), [batch[0], answer({ tools: [{ name: 'add' }] }, 7)]);
  });

  const unchanged: [string, Buffer][] = [
    ['a body that is not JSON', Buffer.from('{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"admin"}]')],
    ['an empty body', Buffer.alloc(0)],
    ['an error answer', body({ jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'x' } })],
    ['the answer to another id', body(answer({ tools: [{ name: 'admin' }] }, 8))],
    ['an id of another type ("7")', body(answer({ tools: [{ name: 'admin' }] }, '7'))],
    ['a request from the server with the same id', body({ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: { tools: [{ name: 'admin' }] }, result: { tools: [{ name: 'admin' }] } })],
    ['a notification', body({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' })],
    ['an answer with nothing to leave out, in its own spacing', Buffer.from('{ "jsonrpc": "2.0", "id": 7, "result": { "tools": [ { "name": "add" } ] } }')],
  ];
  for (const [name, input] of unchanged) it(`passes ${name} byte for byte`, () => assert.equal(filterListBody(input, request, allowNoAdmin), input));
});

describe('list filtering by a policy', () => {
  const compiled = compilePolicy(policySchema.parse({ scopes: ['r'], tools: { 'admin_*': { when: '"ops" in claims.groups' }, add: { scopes: ['w'] } } }), 'servers.math.policy');
  const policy = compiled.policy!;
  const list = answer({ tools: [{ name: 'admin_drop' }, { name: 'add' }, { name: 'sub' }] });

  const cases: [string, string[], Record<string, unknown>, string[]][] = [
    ['a when that denies hides the tool', ['r', 'w'], { groups: [] }, ['add', 'sub']],
    ['a missing scope hides the tool', ['r'], { groups: ['ops'] }, ['admin_drop', 'sub']],
    ['everything allowed shows everything', ['r', 'w'], { groups: ['ops'] }, ['admin_drop', 'add', 'sub']],
  ];
  for (const [name, scopes, claims, expected] of cases) {
    it(name, () => {
      const allow = allowByPolicy(policy, 'tools/list', { scopes: new Set(scopes), claims, server: 'math' });
      const filtered = filterListMessage(list, 'tools/list', allow) as { result: { tools: { name: string }[] } };
      assert.deepEqual(filtered.result.tools.map((t) => t.name), expected);
    });
  }
});
