import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readBodyContext } from '../../../src/tracing/body-context.js';

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
