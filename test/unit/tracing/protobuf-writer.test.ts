import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufWriter, varintSize } from '../../../src/tracing/protobuf-writer.js';

const bytesOf = (write: (w: ProtobufWriter) => void) => {
  const w = new ProtobufWriter(1);
  write(w);
  return [...w.view()];
};

describe('ProtobufWriter', () => {
  it('writes varints in base 128, least significant group first', () => {
    assert.deepEqual(bytesOf((w) => w.varint(1)), [1]);
    assert.deepEqual(bytesOf((w) => w.varint(300)), [0xac, 0x02]);
    assert.deepEqual(bytesOf((w) => w.varint(2 ** 35)), [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    assert.equal(varintSize(127), 1);
    assert.equal(varintSize(128), 2);
    assert.equal(varintSize(16_384), 3);
  });

  it('writes a negative int64 in ten bytes of two’s complement', () => {
    assert.deepEqual(bytesOf((w) => w.int64(1, -1)), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.deepEqual(bytesOf((w) => w.int64(1, -2)), [0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    // -2^32: the low word's complement carries into the high one.
    assert.deepEqual(bytesOf((w) => w.int64(1, -(2 ** 32))), [0x08, 0x80, 0x80, 0x80, 0x80, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('moves a nested message up when its length takes more than a byte, growing the buffer', () => {
    for (const size of [127, 128, 16_383, 16_384, 100_000]) {
      const bytes = bytesOf((w) => {
        const at = w.begin(3);
        w.string(1, 'a'.repeat(size - 1 - varintSize(size - 1)));
        w.end(at);
        w.uint(4, 7);
      });
      assert.equal(bytes[0], 0x1a, 'field 3, length-delimited');
      let length = 0;
      let shift = 1;
      let i = 1;
      for (; bytes[i]! & 0x80; i++, shift *= 128) length += (bytes[i]! & 0x7f) * shift;
      length += bytes[i]! * shift;
      assert.equal(length, size, `a message of ${size} bytes`);
      assert.deepEqual(bytes.slice(-2), [0x20, 7], 'what follows it is intact');
      assert.equal(bytes.length, 1 + varintSize(size) + size + 2);
    }
  });
});
