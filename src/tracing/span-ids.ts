/**
 * Trace and span ids: random, from a pool of the system's random bytes drawn 4 KiB at a time, as
 * lower-case hex. An id of all zeros is invalid in W3C Trace Context: one is drawn again.
 */
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.allocUnsafe(4096);
let next = POOL.length;

function draw(bytes: number): string {
  for (;;) {
    if (next + bytes > POOL.length) {
      randomFillSync(POOL);
      next = 0;
    }
    const id = POOL.toString('hex', next, next + bytes);
    next += bytes;
    if (!/^0+$/.test(id)) return id;
  }
}

export function newTraceId(): string {
  return draw(16);
}

export function newSpanId(): string {
  return draw(8);
}
