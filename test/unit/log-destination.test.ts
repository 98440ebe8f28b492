import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogDestination } from '../../src/log-destination.js';

/** A writable whose reader can be stalled and released, as a pipe to a log collector is. */
function stallable(): { stream: Writable; written: () => string; release: () => void; stall: () => void } {
  let chunks: string[] = [];
  let stalled = false;
  let pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      if (stalled) pending.push(callback);
      else callback();
    },
  });
  return {
    stream,
    written: () => chunks.join(''),
    stall: () => (stalled = true),
    release: () => {
      stalled = false;
      const waiting = pending;
      pending = [];
      waiting.forEach((callback) => callback());
    },
  };
}

const record = (i: number) => `${JSON.stringify({ msg: `record ${i}`, pad: 'p'.repeat(80) })}\n`;
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('the log destination', () => {
  it('writes the records of one turn together, in order', async () => {
    const sink = stallable();
    const destination = createLogDestination(sink.stream, 64 * 1024);
    for (let i = 0; i < 3; i++) destination.write(record(i));
    await turn();
    assert.equal(sink.written(), record(0) + record(1) + record(2));
  });

  it('holds at most its bound while the reader stalls, drops and counts the rest, then says how many were lost', async () => {
    const sink = stallable();
    const destination = createLogDestination(sink.stream, 8 * 1024);
    sink.stall();
    for (let i = 0; i < 1000; i++) {
      destination.write(record(i));
      if (i % 10 === 0) await turn();
      assert.ok(sink.stream.writableLength <= 8 * 1024 + 1024, `buffered ${sink.stream.writableLength} bytes`);
    }
    assert.ok(destination.dropped > 800, `${destination.dropped} dropped`);
    const dropped = destination.dropped;
    sink.release();
    await turn();
    destination.write(record(1000));
    await turn();
    await turn();
    const lines = sink.written().trim().split('\n').map((line) => JSON.parse(line) as { msg: string; dropped?: number; level?: string });
    const report = lines.find((line) => line.dropped !== undefined)!;
    assert.equal(report.dropped, dropped);
    assert.equal(report.level, 'warn');
    assert.equal(lines.at(-1)!.msg, 'record 1000', 'records go on after the report');
  });

  it('never waits for a stalled reader longer than the flush bound', async () => {
    const sink = stallable();
    const destination = createLogDestination(sink.stream, 64 * 1024);
    sink.stall();
    for (let i = 0; i < 100; i++) destination.write(record(i));
    const started = performance.now();
    await destination.flush(200);
    const waited = performance.now() - started;
    assert.ok(waited >= 150 && waited < 2000, `flush waited ${waited.toFixed(0)} ms`);
  });

  it('drops records once the reader is gone, without an error', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('EPIPE'), { code: 'EPIPE' })) });
    const destination = createLogDestination(stream, 64 * 1024);
    destination.write(record(0));
    await turn();
    await turn();
    destination.write(record(1));
    assert.equal(destination.dropped, 1);
    await destination.flush(100);
  });
});

describe('flushing the log destination', () => {
  it('returns as soon as the reader has taken everything, not at the bound', async () => {
    const sink = stallable();
    const destination = createLogDestination(sink.stream, 64 * 1024);
    sink.stall();
    destination.write(record(0)); // under the stream's mark: no 'drain' will follow
    await turn();
    setTimeout(sink.release, 50);
    const started = performance.now();
    await destination.flush(5000);
    const waited = performance.now() - started;
    assert.ok(waited < 1000, `flush waited ${waited.toFixed(0)} ms`);
    assert.equal(sink.stream.writableLength, 0);
  });
});
