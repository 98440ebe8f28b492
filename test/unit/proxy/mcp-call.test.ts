import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHeaderValue } from '../../../src/header-value.js';
import { describeErrorCode, MAX_NAME_LENGTH, peekMcpBody, readMcpHeaders, readMcpOutcome } from '../../../src/proxy/mcp-call.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('the MCP call a request carries', () => {
  const bodies: [string, unknown, unknown][] = [
    ['a tool call', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { name: 'not this' } } }, { method: 'tools/call', name: 'echo' }],
    ['a prompt', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'greet' } }, { method: 'prompts/get', name: 'greet' }],
    ['a resource, by its URI', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///a.txt' } }, { method: 'resources/read', name: 'file:///a.txt' }],
    ['a method with no name', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'client' } } }, { method: 'initialize', name: undefined }],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, { method: 'notifications/initialized', name: undefined }],
    ['a method outside the spec', { jsonrpc: '2.0', id: 1, method: 'x/evil-label', params: { name: 'n' } }, { method: 'other', name: undefined }],
    ['a batch', [{ jsonrpc: '2.0', id: 1, method: 'ping' }], { method: 'batch', name: undefined }],
    ['an escaped, non-ASCII name', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'é"x' } }, { method: 'tools/call', name: 'é"x' }],
  ];
  for (const [name, value, expected] of bodies) {
    it(`reads ${name} from the body`, () => assert.deepEqual(peekMcpBody(body(value), undefined), { ...(expected as object), protocol: undefined }));
  }

  it('reads nothing from a body that names no method (a response to the server)', () => {
    assert.equal(peekMcpBody(body({ jsonrpc: '2.0', id: 3, result: {} }), undefined), undefined);
    assert.equal(peekMcpBody(Buffer.from('not json'), undefined), undefined);
    // An answer whose result holds a "method" key of its own is still an answer.
    assert.equal(peekMcpBody(body({ jsonrpc: '2.0', id: 3, result: { method: 'tools/call', name: 'x' } }), undefined), undefined);
    assert.equal(peekMcpBody(body({ jsonrpc: '2.0', id: 3, error: { code: 1, message: 'm', data: { method: 'ping' } } }), undefined), undefined);
  });

  it('cuts a long name', () => {
    const call = peekMcpBody(body({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x'.repeat(400) } }), undefined);
    assert.equal(call!.name!.length, MAX_NAME_LENGTH);
  });

  it('reads the 2026-07-28 headers, decoding a base64 name, keeping only a known protocol version', () => {
    const name = Buffer.from('recherche ü').toString('base64');
    assert.deepEqual(readMcpHeaders({ 'mcp-method': 'tools/call', 'mcp-name': `=?base64?${name}?=`, 'mcp-protocol-version': '2026-07-28' }), { method: 'tools/call', name: 'recherche ü', protocol: '2026-07-28' });
    assert.deepEqual(readMcpHeaders({ 'mcp-method': 'tools/list', 'mcp-name': 'ignored', 'mcp-protocol-version': '9999-01-01' }), { method: 'tools/list', name: undefined, protocol: undefined });
    assert.equal(readMcpHeaders({}), undefined);
  });

  it('decodes only the base64 sentinel form', () => {
    assert.equal(decodeHeaderValue('=?base64?aGk=?='), 'hi');
    assert.equal(decodeHeaderValue('plain'), 'plain');
    assert.equal(decodeHeaderValue('=?base64?not base64!?='), '=?base64?not base64!?=');
  });
});

describe('what a JSON answer says of its call', () => {
  const outcome = (method: string, value: unknown) => {
    const whole = body(value);
    return readMcpOutcome(method, whole, whole);
  };

  it('reads an error answer\'s code, whatever the key order', () => {
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } }), '-32602');
    assert.equal(outcome('tools/list', { error: { message: 'm', code: -32601 }, jsonrpc: '2.0', id: 1 }), '-32601');
  });

  it('reads isError of a tools/call result only, and a nested "error" in a result is not an error answer', () => {
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'x' }], isError: true } }), 'tool_error');
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, result: { content: [], isError: false } }), '');
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, result: { structuredContent: { error: { code: 7 } }, content: [] } }), '');
    assert.equal(outcome('prompts/get', { jsonrpc: '2.0', id: 1, result: { isError: true } }), '');
  });

  it('finds isError at the end of an answer that came in chunks, and never inside a string', () => {
    const text = 'y'.repeat(70_000);
    const whole = body({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }], isError: true, resultType: 'complete' } });
    assert.equal(readMcpOutcome('tools/call', whole.subarray(0, 65_536), whole.subarray(65_536)), 'tool_error');
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: '"isError":true' }] } }), '');
  });

  it('keeps a label bounded: codes a server chose outside JSON-RPC\'s range and mcpmux\'s are _OTHER', () => {
    assert.equal(describeErrorCode(-32603), '-32603');
    assert.equal(describeErrorCode(-31007), '-31007');
    assert.equal(describeErrorCode(42), '_OTHER');
    assert.equal(describeErrorCode(-1), '_OTHER');
    assert.equal(outcome('tools/call', { jsonrpc: '2.0', id: 1, error: { code: 123456789, message: 'mine' } }), '_OTHER');
  });
});
