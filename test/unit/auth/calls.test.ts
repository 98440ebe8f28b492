import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findHeaderMismatch, readBodyCalls } from '../../../src/auth/calls.js';

const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const call = (method: string, params: Record<string, unknown> = {}, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });

describe('what a body calls', () => {
  const cases: [string, unknown, unknown][] = [
    ['a tool call', call('tools/call', { name: 'add', arguments: {} }), [{ id: 1, method: 'tools/call', call: { kind: 'tool', name: 'add' }, list: undefined }]],
    ['a prompt', call('prompts/get', { name: 'greet' }), [{ id: 1, method: 'prompts/get', call: { kind: 'prompt', name: 'greet' }, list: undefined }]],
    ['a resource, by its uri', call('resources/read', { uri: 'file:///etc/x' }), [{ id: 1, method: 'resources/read', call: { kind: 'resource', name: 'file:///etc/x' }, list: undefined }]],
    ['a list', call('tools/list', {}, 'a'), [{ id: 'a', method: 'tools/list', call: undefined, list: 'tools/list' }]],
    ['templates, not filtered', call('resources/templates/list'), [{ id: 1, method: 'resources/templates/list', call: undefined, list: undefined }]],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, [{ id: undefined, method: 'notifications/initialized', call: undefined, list: undefined }]],
    ['an answer to a server request', { jsonrpc: '2.0', id: 7, result: {} }, [{ id: 7, method: undefined, call: undefined, list: undefined }]],
  ];
  for (const [name, value, messages] of cases) {
    it(name, () => {
      const read = readBodyCalls(body(value));
      assert.ok(read.ok);
      assert.deepEqual(read.messages, messages);
      assert.equal(read.batch, false);
    });
  }

  it('reads a batch member by member', () => {
    const read = readBodyCalls(body([call('tools/call', { name: 'a' }, 1), call('tools/list', {}, 2)]));
    assert.ok(read.ok && read.batch);
    assert.deepEqual(read.messages.map((m) => m.call?.name ?? m.list), ['a', 'tools/list']);
  });

  const refused: [string, string, string][] = [
    ['not JSON', '{"jsonrpc":', 'the body is not JSON'],
    ['an empty batch', '[]', 'an empty batch'],
    ['a scalar', '42', 'a JSON-RPC message must be an object'],
    ['a method that is not a string', JSON.stringify({ id: 1, method: 5 }), 'a method must be a string'],
    ['a tool call without a name', JSON.stringify(call('tools/call', { arguments: {} })), 'tools/call needs params.name as a string'],
    ['a tool call with a name that is not a string', JSON.stringify(call('tools/call', { name: ['add'] })), 'tools/call needs params.name as a string'],
    ['a resource read without a uri', JSON.stringify(call('resources/read', { name: 'x' })), 'resources/read needs params.uri as a string'],
  ];
  for (const [name, text, reason] of refused) {
    it(`refuses ${name}`, () => assert.deepEqual(readBodyCalls(body(text)), { ok: false, reason }));
  }

  it('hands the child what it decided on: a repeated key is written once, the last, as JSON.parse read it', () => {
    const read = readBodyCalls(body('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"allowed","name":"forbidden"}}'));
    assert.ok(read.ok);
    assert.equal(read.messages[0]!.call!.name, 'forbidden');
    assert.equal(read.canonical.toString(), '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"forbidden"}}');
  });
});

describe('headers that disagree with the body (2026-07-28 HeaderMismatch)', () => {
  const toolCall = readBodyCalls(body(call('tools/call', { name: 'add' })));
  const list = readBodyCalls(body(call('tools/list')));
  const batch = readBodyCalls(body([call('tools/call', { name: 'add' })]));
  assert.ok(toolCall.ok && list.ok && batch.ok);
  const b64 = (text: string) => `=?base64?${Buffer.from(text).toString('base64')}?=`;
  const cases: [string, Record<string, string>, typeof toolCall, string | undefined][] = [
    ['no headers (an older client)', {}, toolCall, undefined],
    ['both agree', { 'mcp-method': 'tools/call', 'mcp-name': 'add' }, toolCall, undefined],
    ['a base64 name that agrees', { 'mcp-method': 'tools/call', 'mcp-name': b64('add') }, toolCall, undefined],
    ['a list with no name', { 'mcp-method': 'tools/list' }, list, undefined],
    ['another name', { 'mcp-method': 'tools/call', 'mcp-name': 'read_file' }, toolCall, "Header mismatch: Mcp-Name header value 'read_file' does not match body value 'add'"],
    ['a base64 name that disagrees', { 'mcp-method': 'tools/call', 'mcp-name': b64('rm') }, toolCall, "Header mismatch: Mcp-Name header value 'rm' does not match body value 'add'"],
    ['another method', { 'mcp-method': 'tools/list' }, toolCall, "Header mismatch: Mcp-Method header value 'tools/list' does not match body value 'tools/call'"],
    ['no name where the body names one', { 'mcp-method': 'tools/call' }, toolCall, 'Header mismatch: Mcp-Name is required for this method'],
    ['a name on a list', { 'mcp-method': 'tools/list', 'mcp-name': 'x' }, list, 'Header mismatch: Mcp-Name on a call that names nothing'],
    ['a name without a method', { 'mcp-name': 'add' }, toolCall, 'Header mismatch: Mcp-Name without Mcp-Method'],
    ['a batch under Mcp-Method', { 'mcp-method': 'tools/call', 'mcp-name': 'add' }, batch, 'Header mismatch: Mcp-Method names one call, the body is a batch'],
  ];
  for (const [name, headers, calls, expected] of cases) {
    it(name, () => assert.equal(findHeaderMismatch(headers, calls), expected));
  }
});
