/**
 * Ended spans, batched for export as the OTel SDK's BatchSpanProcessor does, but kept as bytes: a
 * span is encoded as it ends (otlp-encoding.ts) into the open batch, and a batch is sealed when it
 * holds maxExportBatchSize spans or scheduledDelayMillis after its first. One export at a time;
 * past maxQueueSize spans waiting, a span is dropped and counted, never waited for.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { writeSpan } from './otlp-encoding.js';
import { ProtobufWriter } from './protobuf-writer.js';
import type { RecordedSpan, SpanSink } from './recorded-span.js';
import type { QueueSettings } from './settings.js';

/** Spans ready to go: their ScopeSpans.spans fields, and how many. */
export interface SpanBatch {
  readonly spans: Buffer;
  readonly count: number;
}

export interface BatchExporter {
  export(batch: SpanBatch, done: (result: ExportResult) => void): void;
}

export interface BatchHooks {
  onExported(spans: number): void;
  onFailed(spans: number, error: Error | undefined): void;
  onDropped(spans: number): void;
}

export interface SpanBatches extends SpanSink {
  /** Seals the open batch and resolves once every batch is exported (or failed). */
  flush(): Promise<void>;
}

const BATCH_BYTES = 64 * 1024;

export function createSpanBatches(settings: QueueSettings, exporter: BatchExporter, hooks: BatchHooks): SpanBatches {
  const writer = new ProtobufWriter(BATCH_BYTES);
  let open = 0;
  let waiting = 0;
  const sealed: SpanBatch[] = [];
  let exporting = false;
  let timer: NodeJS.Timeout | undefined;
  const idle: (() => void)[] = [];

  const seal = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (open === 0) return;
    // Copied out at its size, the writer kept: a batch of one span, sealed by the timer while an
    // export hangs, holds its few hundred bytes, not the writer's buffer.
    sealed.push({ spans: Buffer.from(writer.view()), count: open });
    writer.pos = 0;
    open = 0;
  };
  const pump = () => {
    if (exporting) return;
    const batch = sealed.shift();
    if (!batch) {
      if (open === 0) for (const resolve of idle.splice(0)) resolve();
      return;
    }
    waiting -= batch.count;
    exporting = true;
    let settled = false;
    const done = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      exporting = false;
      if (result.code === ExportResultCode.SUCCESS) hooks.onExported(batch.count);
      else hooks.onFailed(batch.count, result.error);
      pump();
    };
    try {
      exporter.export(batch, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  };

  return {
    take(span: RecordedSpan) {
      if (waiting >= settings.maxQueueSize) return hooks.onDropped(1);
      const before = writer.pos;
      try {
        writeSpan(writer, span);
      } catch {
        writer.pos = before;
        return hooks.onDropped(1);
      }
      open++;
      waiting++;
      if (open >= settings.maxExportBatchSize) {
        seal();
        pump();
      } else if (!timer) {
        timer = setTimeout(() => {
          seal();
          pump();
        }, settings.scheduledDelayMillis);
        timer.unref();
      }
    },
    flush() {
      seal();
      if (!exporting && sealed.length === 0) return Promise.resolve();
      const drained = new Promise<void>((resolve) => idle.push(resolve));
      pump();
      return drained;
    },
  };
}
