/**
 * A collector's answer to a trace export (ExportTraceServiceResponse), read for its partial
 * success: how many spans it rejected and why. The OTLP exporter's transport says that through
 * the diag logger (tracing's `sdk` warning). Whatever else the answer holds is skipped; an answer
 * that is not protobuf at all throws, which the transport reports the same way.
 */

export interface ExportTraceResponse {
  partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
}

export function decodeExportResponse(data: Uint8Array): ExportTraceResponse {
  const response: ExportTraceResponse = {};
  readFields(data, (field, value) => {
    if (field !== 1 || !(value instanceof Uint8Array)) return;
    const partial: NonNullable<ExportTraceResponse['partialSuccess']> = {};
    readFields(value, (inner, innerValue) => {
      if (inner === 1 && typeof innerValue === 'number') partial.rejectedSpans = innerValue;
      if (inner === 2 && innerValue instanceof Uint8Array) partial.errorMessage = Buffer.from(innerValue).toString('utf8');
    });
    response.partialSuccess = partial;
  });
  return response;
}

/** Each field of a message: a varint as a number, a length-delimited field as its bytes; fixed ones skipped. */
function readFields(data: Uint8Array, onField: (field: number, value: number | Uint8Array) => void): void {
  let pos = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (pos >= data.length) throw new Error('a truncated varint');
      const byte = data[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error('a varint of more than ten bytes');
    }
  };
  while (pos < data.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag % 8) {
      case 0:
        onField(field, varint());
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = varint();
        if (pos + length > data.length) throw new Error('a truncated field');
        onField(field, data.subarray(pos, pos + length));
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`wire type ${tag % 8} is not protobuf's`);
    }
  }
  if (pos > data.length) throw new Error('a truncated field');
}
