import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { recordSpans } from '../../helpers/span-recorder.js';

describe('RecordedSpan', () => {
  it('ignores what is set after its end, and a second end', () => {
    const recorder = recordSpans();
    const span = recorder.tracer.startSpan('s', {}, ROOT_CONTEXT);
    span.setAttribute('before', 1);
    span.end();
    assert.equal(span.isRecording(), false);
    span.setAttribute('after', 2).setStatus({ code: SpanStatusCode.ERROR }).updateName('renamed').addEvent('late');
    span.end();
    const [done, ...more] = recorder.finished();
    assert.deepEqual(more, []);
    assert.deepEqual([done!.name, done!.attributes, done!.status.code, done!.events], ['s', { before: 1 }, SpanStatusCode.UNSET, []]);
  });

  it('keeps OK final and a description only with ERROR', () => {
    const recorder = recordSpans();
    const ok = recorder.tracer.startSpan('ok', {}, ROOT_CONTEXT);
    ok.setStatus({ code: SpanStatusCode.OK, message: 'ignored' }).setStatus({ code: SpanStatusCode.ERROR, message: 'late' });
    ok.end();
    const failed = recorder.tracer.startSpan('failed', {}, ROOT_CONTEXT);
    failed.setStatus({ code: SpanStatusCode.ERROR, message: 'broke' }).setStatus({ code: SpanStatusCode.UNSET });
    failed.end();
    assert.deepEqual(recorder.finished().map((s) => s.status), [{ code: SpanStatusCode.OK, message: undefined }, { code: SpanStatusCode.ERROR, message: 'broke' }]);
  });

  it('keeps 128 attributes, drops invalid values, and replaces a key’s value in place', () => {
    const recorder = recordSpans();
    const span = recorder.tracer.startSpan('s', { attributes: { first: 'a' } }, ROOT_CONTEXT);
    for (let i = 0; i < 200; i++) span.setAttribute(`k${i}`, i);
    span.setAttribute('first', 'b');
    span.setAttribute('object', { no: 1 } as never);
    span.setAttribute('mixed', ['a', 1] as never);
    span.setAttribute('', 'empty key');
    span.end();
    const [done] = recorder.finished();
    assert.equal(Object.keys(done!.attributes).length, 128);
    assert.equal(done!.attributes.first, 'b');
    assert.equal(done!.attributes.object, undefined);
  });

  it('takes frozen start attributes as a group within the same limit, and anything else one by one', () => {
    const recorder = recordSpans();
    const group = Object.freeze(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`g${i}`, i])));
    const grouped = recorder.tracer.startSpan('grouped', { attributes: group }, ROOT_CONTEXT);
    for (let i = 0; i < 50; i++) grouped.setAttribute(`k${i}`, i);
    grouped.setAttribute('g0', 'replaced');
    grouped.end();
    // Unfrozen, or with an array (which could change inside a frozen object), or an invalid value: set one by one.
    const loose = { a: 1, list: ['x'], bad: { no: 1 } as never };
    recorder.tracer.startSpan('loose', { attributes: loose }, ROOT_CONTEXT).end();
    recorder.tracer.startSpan('frozen with an array', { attributes: Object.freeze({ a: 1, list: ['x'] }) }, ROOT_CONTEXT).end();
    const [g, l, f] = recorder.finished();
    assert.equal(Object.keys(g!.attributes).length, 128);
    assert.equal(g!.attributes.g0, 'replaced');
    assert.equal(g!.attributes.g99, 99);
    assert.equal(g!.attributes.k27, 27);
    assert.equal(g!.attributes.k28, undefined, 'past 128 with the group counted');
    assert.deepEqual(l!.attributes, { a: 1, list: ['x'] });
    assert.deepEqual(f!.attributes, { a: 1, list: ['x'] });
  });

  it('records an exception as the OTel SDK does', () => {
    const recorder = recordSpans();
    const span = recorder.tracer.startSpan('s', {}, ROOT_CONTEXT);
    span.recordException(Object.assign(new Error('no such file'), { code: 'ENOENT' }));
    span.end();
    const [event] = recorder.finished()[0]!.events;
    assert.equal(event!.name, 'exception');
    assert.equal(event!.attributes['exception.type'], 'ENOENT');
    assert.equal(event!.attributes['exception.message'], 'no such file');
    assert.match(String(event!.attributes['exception.stacktrace']), /no such file/);
  });

  it('is a child of the span in its context, and an unsampled span still carries the trace on, flagged 00', () => {
    const recorder = recordSpans({ parentBased: true, ratio: 0 });
    const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE, isRemote: true });
    const span = recorder.tracer.startSpan('s', {}, remote);
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.notEqual(span.spanContext().spanId, 'b7ad6b7169203331');
    assert.equal(span.spanContext().traceFlags, TraceFlags.NONE);
    span.end();
    assert.deepEqual(recorder.finished(), []);
    const root = recordSpans().tracer.startSpan('root', { root: true }, remote);
    assert.notEqual(root.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c', 'root: a trace of its own');
  });
});
