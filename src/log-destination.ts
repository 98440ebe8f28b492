/**
 * Where log records go: stdout, through a buffer with a hard bound. A log reader that stalls or
 * cannot keep up (a slow collector, a full pipe, a terminal on hold) costs mcpmux at most
 * MAX_BUFFERED_BYTES of memory: past that, records are dropped and counted, and once stdout takes
 * bytes again one record says how many were lost. Writing never blocks the event loop, and a stop
 * waits for the buffer to drain for at most a short, given time.
 *
 * Records are gathered within one turn of the event loop and written together: one write per
 * turn instead of one per record.
 */
import type { Writable } from 'node:stream';

/** What may wait for stdout; beyond it, records are dropped. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface LogDestination {
  /** For pino: one serialised record, newline included. */
  write(record: string): void;
  /** Records dropped since start, for the metrics. */
  readonly dropped: number;
  /** Resolves once everything buffered is written, or after `timeoutMs`, whichever is first. */
  flush(timeoutMs: number): Promise<void>;
}

export function createLogDestination(stream: Writable = process.stdout, maxBufferedBytes = MAX_BUFFERED_BYTES): LogDestination {
  let batch = '';
  let scheduled = false;
  let dropped = 0;
  /** Dropped since the last report was written. */
  let unreported = 0;
  let broken = false;
  // A reader that went away (EPIPE) is not mcpmux's failure: the records are dropped from then on.
  stream.on('error', () => (broken = true));

  const buffered = () => stream.writableLength + batch.length;
  const writeBatch = () => {
    scheduled = false;
    if (broken || batch === '') return;
    const text = batch;
    batch = '';
    stream.write(text);
  };
  const report = () => {
    // The report is written once the stream has room again; it goes first in the next batch.
    if (unreported === 0 || broken || stream.writableLength > maxBufferedBytes / 2) return;
    const lost = unreported;
    unreported = 0;
    batch = `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), name: 'mcpmux', dropped: lost, msg: 'log records dropped: stdout could not keep up' })}\n${batch}`;
  };
  stream.on('drain', () => {
    report();
    if (!scheduled && batch !== '') writeBatch();
  });

  return {
    write(record) {
      if (broken || buffered() + record.length > maxBufferedBytes) {
        dropped += 1;
        unreported += 1;
        return;
      }
      if (unreported > 0) report();
      batch += record;
      if (!scheduled) {
        scheduled = true;
        setImmediate(writeBatch);
      }
    },
    get dropped() {
      return dropped;
    },
    async flush(timeoutMs) {
      report();
      writeBatch();
      // Polled, not 'drain': that comes only after a write that found the buffer over its mark.
      const deadline = Date.now() + timeoutMs;
      while (!broken && stream.writableLength > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
