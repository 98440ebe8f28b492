import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeExportResponse } from '../../../src/tracing/otlp-response.js';
import { ProtobufWriter } from '../../../src/tracing/protobuf-writer.js';

describe('decodeExportResponse', () => {
  it('reads a partial success: the spans rejected and why', () => {
    const w = new ProtobufWriter();
    const at = w.begin(1);
    w.uint(1, 3);
    w.string(2, 'three spans too old');
    w.end(at);
    w.fixed32(9, 1); // a field it does not know, skipped
    assert.deepEqual(decodeExportResponse(w.view()), { partialSuccess: { rejectedSpans: 3, errorMessage: 'three spans too old' } });
  });

  it('reads an empty answer (full success) as no partial success', () => {
    assert.deepEqual(decodeExportResponse(new Uint8Array()), {});
  });

  it('throws on what is not protobuf', () => {
    assert.throws(() => decodeExportResponse(Buffer.from('200 from a collector that reads nothing')), /truncated|wire type/);
  });
});
