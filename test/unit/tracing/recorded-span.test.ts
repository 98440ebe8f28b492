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
