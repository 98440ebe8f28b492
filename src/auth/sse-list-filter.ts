/**
 * The list answer inside an SSE answer (`text/event-stream`), filtered as it streams.
 *
 * Each event passes, byte for byte, as soon as its blank line is seen; an SSE client acts on an
 * event only then, so holding its first lines costs it nothing. The one event whose `data` is the
 * JSON-RPC answer to the list request (matched by `id`) is rewritten: its data lines become one
 * `data:` line of the filtered answer, and its other lines (`id:`, `event:`, `retry:`, comments)
 * stay as they were. From then on every byte passes as it comes, unparsed.
 *
 * Lines end with CRLF, LF or CR, as the SSE grammar allows, wherever the chunks split them.
 *
 * An event over `maxEventBytes` is dropped, its bytes discarded as they come (never buffered),
 * and reported to `onDrop` as a value. Since it may have been the list answer, a stream that then
 * ends with no answer gets, in its place, mcpmux's error answer (`body_too_large`) for the
 * request: the client hears why rather than waiting for an answer that will never come.
 */
import { Transform } from 'node:stream';
import { describeRefusal } from '../answers.js';
import { filterListMessage, isAnswerTo, type AllowName, type ListRequest } from './list-filter.js';

export interface SseListFilterOptions {
  readonly request: ListRequest;
  readonly allow: AllowName;
  /** An event longer than this (its lines and blank line) is dropped. */
  readonly maxEventBytes: number;
  /** Named in the error answer that stands in for a dropped list answer. */
  readonly server?: string;
  readonly onDrop?: (dropped: DroppedEvent) => void;
}

/** An event dropped for its size: `bytes` it had, over `limit`. */
export interface DroppedEvent {
  readonly code: 'sse_event_too_large';
  readonly bytes: number;
  readonly limit: number;
}

const CR = 0x0d;
const LF = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const DATA = Buffer.from('data');

/** Where the scanner is: inside a line, just past a CR (an LF next is part of that line end), or past a blank line's CR. */
const enum At {
  Line,
  Cr,
  BlankCr,
}

/** A push parser: `push` each chunk, then `end`; each returns the bytes to send, in order. */
export class SseListFilter {
  readonly #options: SseListFilterOptions;
  /** The current event's bytes from earlier chunks (none while dropping). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #lineBytes = 0;
  #at = At.Line;
  /** Bytes of the event being dropped, or undefined. */
  #dropping: number | undefined;
  #droppedUnanswered = false;
  #answered = false;
  #firstEvent = true;

  constructor(options: SseListFilterOptions) {
    this.#options = options;
  }

  /** Bytes of an unfinished event held for the next chunk: never more than maxEventBytes. */
  get heldBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.#answered && this.#pendingBytes === 0 && this.#at === At.Line) return chunk.length > 0 ? [chunk] : [];
    const out: Buffer[] = [];
    let start = 0;
    const nextLineEnd = lineEndFinder(chunk);
    for (let i = 0; i < chunk.length && !this.#answered; i++) {
      const byte = chunk[i]!;
      if (this.#at !== At.Line) {
        const blank = this.#at === At.BlankCr;
        this.#at = At.Line;
        if (byte === LF) {
          if (blank) start = this.#finishEvent(chunk, start, i + 1, out);
          continue;
        }
        if (blank) start = this.#finishEvent(chunk, start, i, out);
        if (this.#answered) break;
      }
      if (byte === CR || byte === LF) {
        const blank = this.#lineBytes === 0;
        this.#lineBytes = 0;
        if (byte === CR) this.#at = blank ? At.BlankCr : At.Cr;
        else if (blank) start = this.#finishEvent(chunk, start, i + 1, out);
      } else {
        const end = nextLineEnd(i);
        this.#lineBytes += end - i;
        i = end - 1;
      }
    }
    if (this.#answered) {
      if (start < chunk.length) out.push(chunk.subarray(start));
      return out;
    }
    this.#hold(chunk.subarray(start));
    return out;
  }

  end(): Buffer[] {
    const out: Buffer[] = [];
    if (this.#at === At.BlankCr) this.#finishEvent(Buffer.alloc(0), 0, 0, out);
    this.#at = At.Line;
    if (this.#dropping !== undefined) this.#drop();
    if (this.#droppedUnanswered && !this.#answered) {
      // A partial event is one the client would discard; the stand-in answer must start clean.
      this.#pending = [];
      const { request, maxEventBytes, server } = this.#options;
      const answer = describeRefusal('body_too_large', `the answer to ${request.method} was over ${maxEventBytes} bytes, more than mcpmux lets through`, server, request.id);
      out.push(Buffer.from(`data: ${JSON.stringify(answer)}\n\n`));
    } else if (this.#pendingBytes > 0) {
      // An event cut short passes as it came, unless it is the list answer: that is never let through unfiltered.
      out.push(this.#filterEvent(Buffer.concat(this.#pending)));
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    return out;
  }

  /** Keeps the start of an event for the next chunk, or drops it once over the limit. */
  #hold(part: Buffer): void {
    if (part.length === 0) return;
    if (this.#dropping !== undefined) {
      this.#dropping += part.length;
      return;
    }
    this.#pending.push(part);
    this.#pendingBytes += part.length;
    if (this.#pendingBytes > this.#options.maxEventBytes) {
      this.#dropping = this.#pendingBytes;
      this.#pending = [];
      this.#pendingBytes = 0;
    }
  }

  /** The event ends at `end` of this chunk: sends it (filtered when it is the answer) and returns where the next one starts. */
  #finishEvent(chunk: Buffer, start: number, end: number, out: Buffer[]): number {
    const tail = chunk.subarray(start, end);
    if (this.#dropping !== undefined) {
      this.#dropping += tail.length;
      this.#drop();
      return end;
    }
    const bytes = this.#pendingBytes + tail.length;
    if (bytes > this.#options.maxEventBytes) {
      this.#dropping = bytes;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#drop();
      return end;
    }
    const event = this.#pendingBytes === 0 ? tail : Buffer.concat([...this.#pending, tail], bytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (event.length > 0) out.push(this.#filterEvent(event));
    return end;
  }

  #drop(): void {
    const bytes = this.#dropping ?? 0;
    this.#dropping = undefined;
    this.#firstEvent = false;
    if (!this.#answered) this.#droppedUnanswered = true;
    this.#options.onDrop?.({ code: 'sse_event_too_large', bytes, limit: this.#options.maxEventBytes });
  }

  /** The event as it came, or rewritten when it answers the list request. */
  #filterEvent(event: Buffer): Buffer {
    const lines = splitLines(event, this.#firstEvent && event.subarray(0, 3).equals(BOM) ? 3 : 0);
    this.#firstEvent = false;
    const data = lines.filter((line) => line.data !== undefined).map((line) => line.data);
    if (data.length === 0) return event;
    let message: unknown;
    try {
      message = JSON.parse(data.join('\n'));
    } catch {
      return event;
    }
    const { request, allow } = this.#options;
    if (!isAnswerTo(message, request.id)) return event;
    this.#answered = true;
    const filtered = filterListMessage(message, request.method, allow);
    if (filtered === message) return event;
    const parts: Buffer[] = [];
    let written = false;
    for (const line of lines) {
      if (line.data === undefined) parts.push(event.subarray(line.start, line.next));
      else if (!written) {
        written = true;
        parts.push(event.subarray(line.start, line.field), Buffer.from(`data: ${JSON.stringify(filtered)}`), event.subarray(line.end, line.next));
      }
    }
    return Buffer.concat(parts);
  }
}

interface Line {
  readonly start: number;
  /** Where its field name starts: past a BOM on the stream's first line. */
  readonly field: number;
  /** Where its content ends and its line end (CRLF, LF, CR, or none at the very end) begins. */
  readonly end: number;
  readonly next: number;
  /** The value when it is a `data` field. */
  readonly data: string | undefined;
}

/** The lines of one event; `skip` bytes (a BOM) before the first line's field name. */
function splitLines(event: Buffer, skip: number): Line[] {
  const lines: Line[] = [];
  let start = 0;
  const nextLineEnd = lineEndFinder(event);
  while (start < event.length) {
    const end = nextLineEnd(start);
    let next = end;
    if (next < event.length) next += event[next] === CR && event[next + 1] === LF ? 2 : 1;
    const field = lines.length === 0 ? start + skip : start;
    lines.push({ start, field, end, next, data: dataOf(event, field, end) });
    start = next;
  }
  return lines;
}

/** Where the next CR or LF is, from a place on: each searched for once per chunk as the place moves on. */
function lineEndFinder(bytes: Buffer): (from: number) => number {
  let cr = -2;
  let lf = -2;
  return (from) => {
    if (cr !== -1 && cr < from) cr = bytes.indexOf(CR, from);
    if (lf !== -1 && lf < from) lf = bytes.indexOf(LF, from);
    if (cr === -1) return lf === -1 ? bytes.length : lf;
    return lf === -1 ? cr : Math.min(cr, lf);
  };
}

/** `data` or `data:value` (one leading space dropped), as the SSE grammar reads a field. */
function dataOf(event: Buffer, start: number, end: number): string | undefined {
  if (end - start < DATA.length || event.compare(DATA, 0, DATA.length, start, start + DATA.length) !== 0) return undefined;
  const after = start + DATA.length;
  if (after === end) return '';
  if (event[after] !== 0x3a) return undefined;
  const value = event[after + 1] === 0x20 ? after + 2 : after + 1;
  return event.toString('utf8', value, end);
}

/** The SSE filter as a stream, for `pipeline(upstream, createSseListFilter(...), res)`. */
export function createSseListFilter(options: SseListFilterOptions): Transform {
  const filter = new SseListFilter(options);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      for (const part of filter.push(chunk)) this.push(part);
      callback();
    },
    flush(callback) {
      for (const part of filter.end()) this.push(part);
      callback();
    },
  });
}
