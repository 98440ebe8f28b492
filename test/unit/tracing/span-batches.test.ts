import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { createSampler } from '../../../src/tracing/sampler.js';
import { createSpanBatches, type SpanBatch } from '../../../src/tracing/span-batches.js';
import { DEFAULT_QUEUE } from '../../../src/tracing/settings.js';
import { createTracer } from '../../../src/tracing/tracer.js';
import { waitFor } from '../../helpers/wait.js';

/** Batches whose exports wait for the test to settle them. */
function batchesWith(queue: Partial<typeof DEFAULT_QUEUE>) {
  const exports: { batch: SpanBatch; done: (result: ExportResult) => void }[] = [];
  const counts = { exported: 0, failed: 0, dropped: 0 };
  const batches = createSpanBatches({ ...DEFAULT_QUEUE, ...queue }, { export: (batch, done) => void exports.push({ batch, done }) }, {
    onExported: (n) => void (counts.exported += n),
    onFailed: (n) => void (counts.failed += n),
    onDropped: (n) => void (counts.dropped += n),
  });
  const tracer = createTracer(createSampler({ parentBased: true, ratio: 1 }), batches);
  const end = (n: number) => {
    for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`, {}, ROOT_CONTEXT).end();
  };
  return { batches, exports, counts, end };
}

const OK = { code: ExportResultCode.SUCCESS };

describe('createSpanBatches', () => {
  it('sends a batch when it is full, one export at a time, the next when the first is done', () => {
    const { exports, counts, end } = batchesWith({ maxExportBatchSize: 3, scheduledDelayMillis: 60_000 });
    end(7);
    assert.deepEqual(exports.map((e) => e.batch.count), [3], 'one export in flight');
    exports[0]!.done(OK);
    assert.deepEqual(exports.map((e) => e.batch.count), [3, 3]);
    exports[1]!.done({ code: ExportResultCode.FAILED, error: new Error('refused') });
    assert.deepEqual(counts, { exported: 3, failed: 3, dropped: 0 });
    assert.equal(exports.length, 2, 'the seventh waits for its delay');
  });

  it('sends what it holds after the delay', async () => {
    const { exports, end } = batchesWith({ maxExportBatchSize: 100, scheduledDelayMillis: 20 });
    end(2);
    assert.equal(exports.length, 0);
    await waitFor(() => exports.length === 1, 'the delayed export', 2000);
    assert.equal(exports[0]!.batch.count, 2);
    assert.ok(exports[0]!.batch.spans.length > 2 * 30, 'the spans’ bytes');
  });

  it('drops and counts spans past the queue’s bound while an export is out', () => {
    const { counts, end } = batchesWith({ maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 60_000 });
    end(10);
    // 2 go out (and hang), 4 wait, 4 are dropped.
    assert.deepEqual(counts, { exported: 0, failed: 0, dropped: 4 });
  });

  it('flushes: seals the open batch and resolves once all is exported', async () => {
    const { batches, exports, counts, end } = batchesWith({ maxExportBatchSize: 2, scheduledDelayMillis: 60_000 });
    end(5);
    let flushed = false;
    const flushing = batches.flush().then(() => (flushed = true));
    for (let i = 0; i < 3; i++) {
      await waitFor(() => exports.length === i + 1, `export ${i + 1}`, 2000);
      assert.equal(flushed, false);
      exports[i]!.done(OK);
    }
    await flushing;
    assert.deepEqual(counts, { exported: 5, failed: 0, dropped: 0 });
    await batches.flush();
  });

  it('counts an exporter that throws as a failed export, and goes on', () => {
    const counts = { exported: 0, failed: 0, dropped: 0 };
    const batches = createSpanBatches({ ...DEFAULT_QUEUE, maxExportBatchSize: 1 }, { export: () => { throw new Error('boom'); } }, {
      onExported: (n) => void (counts.exported += n), onFailed: (n) => void (counts.failed += n), onDropped: (n) => void (counts.dropped += n),
    });
    const tracer = createTracer(createSampler({ parentBased: true, ratio: 1 }), batches);
    tracer.startSpan('a', {}, ROOT_CONTEXT).end();
    tracer.startSpan('b', {}, ROOT_CONTEXT).end();
    assert.deepEqual(counts, { exported: 0, failed: 2, dropped: 0 });
  });
});
