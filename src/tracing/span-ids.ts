/**
 * Trace and span ids: random, from a pool of the system's random bytes drawn 4 KiB at a time, as
 * lower-case hex for the api's SpanContext, and as 32-bit words (IdWords) for the encoder, which
 * then never reads the hex again. An id of all zeros is invalid in W3C Trace Context: one is drawn
 * again.
 */
import { randomFillSync } from 'node:crypto';

/** A span's trace id (t0-t3), span id (s0-s1) and parent span id (p0-p1), as big-endian words. */
export class IdWords {
  t0 = 0;
  t1 = 0;
  t2 = 0;
  t3 = 0;
  s0 = 0;
  s1 = 0;
  p0 = 0;
  p1 = 0;

  /** A child's trace and parent from its parent span's words. */
  takeParent(parent: IdWords): void {
    this.t0 = parent.t0;
    this.t1 = parent.t1;
    this.t2 = parent.t2;
    this.t3 = parent.t3;
    this.p0 = parent.s0;
    this.p1 = parent.s1;
  }

  /** A child's trace and parent from a remote parent's hex (checked by the W3C parse), decoded natively. */
  readParent(traceId: string, spanId: string): void {
    HEX.write(traceId, 0, 16, 'hex');
    HEX.write(spanId, 16, 8, 'hex');
    this.t0 = HEX.readUInt32BE(0);
    this.t1 = HEX.readUInt32BE(4);
    this.t2 = HEX.readUInt32BE(8);
    this.t3 = HEX.readUInt32BE(12);
    this.p0 = HEX.readUInt32BE(16);
    this.p1 = HEX.readUInt32BE(20);
  }
}

/** Where a remote parent's ids are decoded. */
const HEX = Buffer.alloc(24);

const POOL = Buffer.allocUnsafe(4096);
let next = POOL.length;

/** `bytes` random bytes, not all zero: their offset in POOL, valid until the next draw. */
function draw(bytes: number): number {
  for (;;) {
    if (next + bytes > POOL.length) {
      randomFillSync(POOL);
      next = 0;
    }
    const at = next;
    next += bytes;
    for (let i = at; i < at + bytes; i++) if (POOL[i] !== 0) return at;
  }
}

function wordAt(at: number): number {
  return ((POOL[at]! << 24) | (POOL[at + 1]! << 16) | (POOL[at + 2]! << 8) | POOL[at + 3]!) >>> 0;
}

/** A new trace id, its words put in `ids`. */
export function newTraceId(ids: IdWords): string {
  const at = draw(16);
  ids.t0 = wordAt(at);
  ids.t1 = wordAt(at + 4);
  ids.t2 = wordAt(at + 8);
  ids.t3 = wordAt(at + 12);
  return POOL.toString('hex', at, at + 16);
}

/** A new span id, its words put in `ids`. */
export function newSpanId(ids: IdWords): string {
  const at = draw(8);
  ids.s0 = wordAt(at);
  ids.s1 = wordAt(at + 4);
  return POOL.toString('hex', at, at + 8);
}
