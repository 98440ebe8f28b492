import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readBodyContext, readRequestId } from '../../../src/tracing/body-context.js';

const HOP = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'mux=1' };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('readBodyContext', () => {
  it('reads the id and _meta of a request, and leaves a body without a trace context as it is', () => {
    const context = readBodyContext(body({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'add', _meta: { progressToken: 1 } } }));
    assert.deepEqual(context.message, { id: 3, meta: { progressToken: 1 } });
    assert.equal(context.rewrite(HOP), undefined);
  });

  it("puts the hop's context in place of the client's, and keeps every other _meta key", () => {
    const context = readBodyContext(body({ jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'add', arguments: { a: 1 }, _meta: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'client=1', baggage: 'k=v', 'io.example/x': true } } }));
    assert.equal(context.message?.meta?.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const rewritten = JSON.parse(context.rewrite(HOP)!.toString());
    assert.deepEqual(rewritten.params, { name: 'add', arguments: { a: 1 }, _meta: { traceparent: HOP.traceparent, tracestate: 'mux=1', baggage: 'k=v', 'io.example/x': true } });
  });

  it("drops the client's tracestate when the hop has none", () => {
    const context = readBodyContext(body({ jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'client=1' } } }));
    assert.deepEqual(JSON.parse(context.rewrite({ traceparent: HOP.traceparent })!.toString()).params._meta, { traceparent: HOP.traceparent });
  });

  it('rewrites each member of a batch that carries a context, and reads the first', () => {
    const context = readBodyContext(body([
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 2, method: 'ping', params: { _meta: { traceparent: 'x' } } },
    ]));
    assert.deepEqual(context.message, { id: 1, meta: undefined });
    const [first, second] = JSON.parse(context.rewrite(HOP)!.toString());
    assert.equal(first.params, undefined);
    assert.deepEqual(second.params._meta, HOP);
  });

  const refused: [string, Buffer][] = [
    ['not JSON', Buffer.from('{"jsonrpc":')],
    ['a string', body('hello')],
    ['an empty batch', body([])],
    ['null', body(null)],
  ];
  for (const [what, bytes] of refused) {
    it(`reads nothing from ${what}, and never rewrites it`, () => {
      const context = readBodyContext(bytes);
      assert.equal(context.message, undefined);
      assert.equal(context.rewrite(HOP), undefined);
    });
  }
});

describe('readRequestId', () => {
  it('finds the top-level id, not one nested in params, wherever the key stands', () => {
    assert.equal(readRequestId(body({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'add' } })), 7);
    assert.equal(readRequestId(body({ method: 'tools/call', params: { id: 'inner', list: [{ id: 1 }], s: '"id":9' }, jsonrpc: '2.0', id: 'outer' })), 'outer');
    assert.equal(readRequestId(Buffer.from(' {\n "params" : {"id" : 1} ,\t"id" :  -12.5e1 }')), -125);
    assert.equal(readRequestId(body({ jsonrpc: '2.0', method: 'notifications/initialized' })), undefined);
    assert.equal(readRequestId(body({ id: null })), undefined);
    assert.equal(readRequestId(body({ id: 'quo\"ted' })), 'quo"ted');
    assert.equal(readRequestId(body([{ jsonrpc: '2.0', id: 4, method: 'ping' }])), 4, 'a batch: its first');
    assert.equal(readRequestId(Buffer.from('{"id": 1')), 1);
    assert.equal(readRequestId(Buffer.from('{"id": "unterminated')), undefined);
    assert.equal(readRequestId(Buffer.from('not json')), undefined);
  });

  it('agrees with JSON.parse on any JSON-RPC-like body', () => {
    const id = fc.oneof(fc.integer(), fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.boolean());
    const message = fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.string(), params: fc.jsonValue() }, { requiredKeys: ['method'] });
    fc.assert(fc.property(message, fc.boolean(), (m, spaced) => {
      const bytes = Buffer.from(JSON.stringify(m, null, spaced ? 2 : undefined));
      assert.deepEqual(readRequestId(bytes), readBodyContext(bytes).message?.id);
    }), { numRuns: 2000 });
  });
});
