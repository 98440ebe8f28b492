/**
 * A child's output: split into lines as bytes, cut at MAX_LINE_BYTES however the bytes arrive, and
 * held to a per-server budget of lines, so that a child flooding its pipes can neither grow
 * mcpmux's memory nor take its CPU from the other servers. The pipes are always read as fast as
 * they fill: a child never blocks on a full pipe, its extra lines are dropped and counted.
 */
import type { Readable } from 'node:stream';
import type { Events, OutputStream } from '../events.js';
import { TokenBucket } from '../token-bucket.js';

/** A longer line is cut here and reported as truncated; the rest of it, up to the newline, is dropped. */
export const MAX_LINE_BYTES = 16 * 1024;

/** Lines a server may log at once, and then per second: journald's idea (10,000 per 30 s), a little looser. */
export const OUTPUT_BURST_LINES = 10_000;
export const OUTPUT_LINES_PER_SECOND = 1_000;

/** Lines of stderr kept for /status's lastExit.stderrTail. */
const STDERR_TAIL_LINES = 20;
/** How often a count of dropped lines is reported while a flood goes on. */
const DROPPED_REPORT_MS = 1000;

/** How long reading waits after a chunk that arrived with the budget spent. */
const FLOOD_PAUSE_MS = 10;

const NEWLINE = 0x0a;
const CR = 0x0d;

/** Lets the reader of a protocol stream (a stdio server's stdout) stop and start reading it. */
export interface LineReader {
  /** Stops reading: what the child writes waits in its pipe, and then the child waits. */
  hold(): void;
  /** Reads again (unless a pause of the reader's own is under way: it ends by itself). */
  release(): void;
}

/** How a protocol stream is paced, besides `hold`. */
export interface ReadFlow {
  /** After a chunk of this many lines or more, reading yields for a turn of the event loop, so that other streams get theirs. */
  readonly yieldAfterLines?: number;
  /** True when lines should come slower (a budget of lines that go nowhere is spent): a pause of FLOOD_PAUSE_MS after the chunk. */
  readonly slowDown?: () => boolean;
}

/**
 * Splits a stream into lines, consuming it as fast as it comes. `onLine` gets a view of the line's
 * bytes (without the newline or a trailing CR), valid only during the call; `truncated` marks a
 * line that was cut at `maxLineBytes` (MAX_LINE_BYTES unless given). With a `budget`, a line is
 * handed over only while the budget lasts; a chunk that arrives with the budget spent is only
 * counted, line by line, which keeps a flood at its cheapest. With a `flow` (a protocol stream,
 * whose lines all matter), nothing is dropped: reading yields and slows down instead.
 */
export function readLines(stream: Readable, onLine: (line: Buffer, truncated: boolean) => void, budget?: LineBudget, maxLineBytes = MAX_LINE_BYTES, flow?: ReadFlow): LineReader {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropping = false;
  let held = false;
  let pausing = false;
  const resume = () => {
    pausing = false;
    if (!held) stream.resume();
  };
  const pauseFor = (ms: number | 'turn') => {
    stream.pause();
    if (pausing) return;
    pausing = true;
    if (ms === 'turn') setImmediate(resume);
    else setTimeout(resume, ms).unref();
  };
  const emit = (line: Buffer, truncated: boolean) => {
    if (budget && !budget.take()) return;
    const end = !truncated && line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    onLine(end === line.length ? line : line.subarray(0, end), truncated);
  };
  /** Adds bytes to the line being built; cuts it once it reaches the limit. */
  const append = (bytes: Buffer) => {
    if (dropping || bytes.length === 0) return;
    const room = maxLineBytes - pendingBytes;
    if (bytes.length < room) {
      pending.push(bytes);
      pendingBytes += bytes.length;
      return;
    }
    pending.push(bytes.subarray(0, room));
    emit(Buffer.concat(pending, maxLineBytes), true);
    pending = [];
    pendingBytes = 0;
    dropping = true;
  };
  const endLine = () => {
    if (!dropping) emit(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes), false);
    pending = [];
    pendingBytes = 0;
    dropping = false;
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    let newline: number;
    if (budget && !budget.hasToken()) {
      let lines = 0;
      while ((newline = chunk.indexOf(NEWLINE, start)) !== -1) {
        lines += 1;
        start = newline + 1;
      }
      budget.drop(lines);
      if (lines > 0) {
        pending = [];
        pendingBytes = 0;
        dropping = false;
      }
      if (start < chunk.length) append(Buffer.from(chunk.subarray(start)));
      // A flood: the next read waits a moment. Up to 64 KiB (a pipe's worth) is read per pause,
      // which bounds the CPU a flood takes; a child writing less than that per pause never blocks.
      return pauseFor(FLOOD_PAUSE_MS);
    }
    let lines = 0;
    while ((newline = chunk.indexOf(NEWLINE, start)) !== -1) {
      lines += 1;
      if (pendingBytes === 0 && !dropping) {
        // The common case: a whole line inside one chunk, handed over as a view.
        if (newline - start < maxLineBytes) emit(chunk.subarray(start, newline), false);
        else emit(chunk.subarray(start, start + maxLineBytes), true);
      } else {
        append(chunk.subarray(start, newline));
        endLine();
      }
      start = newline + 1;
    }
    // The start of a line that goes on in the next chunk: copied, since the chunk may be reused.
    if (start < chunk.length) append(Buffer.from(chunk.subarray(start)));
    if (!flow) return;
    if (flow.slowDown?.()) pauseFor(FLOOD_PAUSE_MS);
    else if (flow.yieldAfterLines !== undefined && lines >= flow.yieldAfterLines) pauseFor('turn');
  });
  stream.on('end', () => {
    if (pendingBytes > 0) endLine();
  });
  stream.on('error', () => undefined);
  return {
    hold() {
      held = true;
      stream.pause();
    },
    release() {
      if (!held) return;
      held = false;
      if (!pausing) stream.resume();
    },
  };
}

/** A token bucket of lines, counting the lines it refused. `now` is in milliseconds; tests pass their own clock. */
export class LineBudget extends TokenBucket {
  /** Lines refused since the last `takeDropped()`. */
  #dropped = 0;

  constructor(options: { burst?: number; perSecond?: number; now?: () => number } = {}) {
    super({ burst: options.burst ?? OUTPUT_BURST_LINES, perSecond: options.perSecond ?? OUTPUT_LINES_PER_SECOND, now: options.now });
  }

  /** True when one more line may be logged now; false counts it as dropped. */
  override take(): boolean {
    if (super.take()) return true;
    this.#dropped += 1;
    return false;
  }

  /** Counts lines dropped without asking (a chunk that arrived with the budget spent). */
  drop(lines: number): void {
    this.#dropped += lines;
  }

  /** The lines dropped since the last call, and resets the count. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}

/**
 * One server's output, across its processes: each line within its budget becomes an `output`
 * event, the lines past it are reported as `output-dropped` once a second while a process runs,
 * and the last lines of stderr are kept for /status.
 */
export class ServerOutput {
  /** For spawnChild: the lines handed to onLine are taken from it. */
  readonly budget = new LineBudget();
  readonly #server: string;
  readonly #events: Events;
  #tail: string[] = [];
  #reports: NodeJS.Timeout | undefined;

  constructor(server: string, events: Events) {
    this.#server = server;
    this.#events = events;
  }

  /** For spawnChild: one line within the budget. */
  readonly onLine = (stream: OutputStream, bytes: Buffer, truncated: boolean): void => {
    const line = bytes.toString('utf8');
    if (stream === 'stderr') {
      this.#tail.push(line);
      if (this.#tail.length > STDERR_TAIL_LINES) this.#tail.shift();
    }
    this.#events.emit('output', { server: this.#server, stream, line, truncated });
  };

  /** A new process starts with an empty tail. */
  clearTail(): void {
    this.#tail = [];
  }

  stderrTail(): readonly string[] {
    return [...this.#tail];
  }

  /** While any process runs (a server's replicas share one output), dropped lines are reported once a second. */
  startReports(): void {
    this.#running += 1;
    this.#reports ??= setInterval(() => this.#reportDropped(), DROPPED_REPORT_MS).unref();
  }

  /** A process ended: what was dropped since the last report is reported now; the last one stops the reports. */
  stopReports(): void {
    this.#running = Math.max(0, this.#running - 1);
    if (this.#running === 0) {
      clearInterval(this.#reports);
      this.#reports = undefined;
    }
    this.#reportDropped();
  }

  /** Processes that called startReports and not yet stopReports. */
  #running = 0;

  #reportDropped(): void {
    const lines = this.budget.takeDropped();
    if (lines > 0) this.#events.emit('output-dropped', { server: this.#server, lines });
  }
}
