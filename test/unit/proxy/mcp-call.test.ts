import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHeaderValue, MAX_NAME_LENGTH, peekMcpBody, readMcpHeaders } from '../../../src/proxy/mcp-call.js';

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
