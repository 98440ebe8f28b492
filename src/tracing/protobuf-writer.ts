/**
 * Protocol Buffers' wire format, written into one growing Buffer: the few field types OTLP's trace
 * messages use. A nested message is written in place: its length takes one byte, reserved before
 * it, and when the message turns out longer than 127 bytes, it is moved up to make room for the
 * longer length (rare: attributes, events and links are short). Nothing is built to be copied.
 */

/** Wire types (the low three bits of a field's tag). */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const TWO_32 = 0x1_0000_0000;

export class ProtobufWriter {
  buffer: Buffer;
  pos = 0;

  constructor(initialSize = 16 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  /** Room for `bytes` more. */
  reserve(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }

  /** An unsigned integer below 2^53 (a length, a count, an enum, a tag). */
  varint(value: number): void {
    this.reserve(10);
    const buf = this.buffer;
    let pos = this.pos;
    while (value >= 0x80) {
      buf[pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** An int64 field: a negative one in ten bytes, as two's complement. */
  int64(field: number, value: number): void {
    this.tag(field, VARINT);
    if (value >= 0) return this.varint(value);
    // Two's complement in 64 bits, as two 32-bit words: -value = hi * 2^32 + lo.
    const magnitude = -value;
    let lo = magnitude % TWO_32;
    let hi = Math.floor(magnitude / TWO_32);
    lo = (~lo >>> 0) + 1;
    hi = ~hi >>> 0;
    if (lo === TWO_32) {
      lo = 0;
      hi = (hi + 1) >>> 0;
    }
    this.reserve(10);
    for (let i = 0; i < 9; i++) {
      const low7 = lo & 0x7f;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
      this.buffer[this.pos++] = low7 | 0x80;
    }
    this.buffer[this.pos++] = lo & 0x01;
  }

  uint(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  bool(field: number, value: boolean): void {
    this.tag(field, VARINT);
    this.varint(value ? 1 : 0);
  }

  double(field: number, value: number): void {
    this.tag(field, FIXED64);
    this.reserve(8);
    this.buffer.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  fixed32(field: number, value: number): void {
    this.tag(field, FIXED32);
    this.reserve(4);
    this.word(value);
  }

  /** A fixed64 given as its two 32-bit halves. */
  fixed64(field: number, lo: number, hi: number): void {
    this.tag(field, FIXED64);
    this.reserve(8);
    this.word(lo);
    this.word(hi);
  }

  /** A bytes field of two 32-bit words, or four, big-endian (an id, as IdWords holds it). */
  words(field: number, a: number, b: number, c?: number, d?: number): void {
    this.tag(field, LENGTH_DELIMITED);
    this.reserve(17);
    this.buffer[this.pos++] = c === undefined ? 8 : 16;
    this.wordBE(a);
    this.wordBE(b);
    if (c === undefined) return;
    this.wordBE(c);
    this.wordBE(d!);
  }

  /** Four bytes, big-endian, room reserved. */
  private wordBE(value: number): void {
    const buf = this.buffer;
    const pos = this.pos;
    buf[pos] = value >>> 24;
    buf[pos + 1] = value >>> 16;
    buf[pos + 2] = value >>> 8;
    buf[pos + 3] = value;
    this.pos = pos + 4;
  }

  /** Bytes already encoded (a field written before, kept). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Four bytes, little-endian, room reserved. */
  private word(value: number): void {
    const buf = this.buffer;
    const pos = this.pos;
    buf[pos] = value;
    buf[pos + 1] = value >>> 8;
    buf[pos + 2] = value >>> 16;
    buf[pos + 3] = value >>> 24;
    this.pos = pos + 4;
  }

  string(field: number, value: string): void {
    this.tag(field, LENGTH_DELIMITED);
    const n = value.length;
    // Short and ASCII (most keys and values): byte by byte, no call into the runtime.
    if (n < 64) {
      this.reserve(1 + n);
      const buf = this.buffer;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const length = Buffer.byteLength(value);
    this.varint(length);
    this.reserve(length);
    this.pos += this.buffer.write(value, this.pos, length, 'utf8');
  }

  /** A bytes field from hex text: a link's ids (a span's own are written as words). */
  hex(field: number, value: string): void {
    const length = value.length >>> 1;
    this.tag(field, LENGTH_DELIMITED);
    this.varint(length);
    this.reserve(length);
    this.pos += this.buffer.write(value, this.pos, length, 'hex');
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** Opens a nested message in `field`; close it with `end(start)`. */
  begin(field: number): number {
    this.tag(field, LENGTH_DELIMITED);
    this.reserve(1);
    const start = this.pos;
    this.pos += 1;
    return start;
  }

  /** Closes the nested message opened at `start`: writes its length, moving it up when that takes more than a byte. */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buffer[start] = length;
      return;
    }
    const size = varintSize(length);
    this.reserve(size - 1);
    this.buffer.copyWithin(start + size, start + 1, this.pos);
    const after = this.pos + size - 1;
    this.pos = start;
    this.varint(length);
    this.pos = after;
  }

  /** What was written, as a view on the buffer (valid until the next write). */
  view(from = 0): Buffer {
    return this.buffer.subarray(from, this.pos);
  }
}

/** How many bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}
