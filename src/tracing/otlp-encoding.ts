/**
 * OTLP's trace messages in protobuf (opentelemetry-proto, trace/v1 and collector/trace/v1),
 * written straight from the spans as they end: a span becomes its bytes at once, and a batch is
 * those bytes behind one envelope (ExportTraceServiceRequest > ResourceSpans > ScopeSpans), whose
 * resource and scope are encoded once. What the OTel SDK's transformer does through an
 * intermediate object per span, attribute and id, this does with none.
 */
import { SpanStatusCode, type SpanContext } from '@opentelemetry/api';
import { ProtobufWriter, varintSize } from './protobuf-writer.js';
import type { RecordedSpan } from './recorded-span.js';
import { nanoWords, type SpanTime } from './span-time.js';

/** ScopeSpans.spans: each span, as it ends, is written as this field. */
const SCOPE_SPANS_SPAN = 2;
/** Span.flags and Link.flags, past the trace flags: whether the parent (the linked span) is remote is known (bit 8), and it is (bit 9). */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** Writes an ended span as a ScopeSpans.spans field. */
export function writeSpan(w: ProtobufWriter, span: RecordedSpan): void {
  const at = w.begin(SCOPE_SPANS_SPAN);
  const context = span.context;
  const ids = span.ids;
  w.words(1, ids.t0, ids.t1, ids.t2, ids.t3);
  w.words(2, ids.s0, ids.s1);
  const traceState = context.traceState?.serialize();
  if (traceState) w.string(3, traceState);
  if (span.parentSpanId !== undefined) w.words(4, ids.p0, ids.p1);
  w.string(5, span.name);
  // The api's kinds start at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
  w.uint(6, span.kind + 1);
  writeTime(w, 7, span.startTime);
  writeTime(w, 8, span.endTime!);
  if (span.group !== undefined) w.raw(encodedGroup(span.group));
  writeAttributes(w, SPAN_ATTRIBUTES, span.attributes);
  if (span.droppedAttributes > 0) w.uint(10, span.droppedAttributes);
  if (span.events) for (const event of span.events) {
    const e = w.begin(11);
    writeTime(w, 1, event.time);
    w.string(2, event.name);
    writeAttributes(w, 3, event.attributes);
    if (event.droppedAttributes > 0) w.uint(4, event.droppedAttributes);
    w.end(e);
  }
  if (span.droppedEvents > 0) w.uint(12, span.droppedEvents);
  if (span.links) for (const link of span.links) {
    const l = w.begin(13);
    w.hex(1, link.context.traceId);
    w.hex(2, link.context.spanId);
    const linkState = link.context.traceState?.serialize();
    if (linkState) w.string(3, linkState);
    writeAttributes(w, 4, link.attributes);
    if (link.droppedAttributes > 0) w.uint(5, link.droppedAttributes);
    w.fixed32(6, flagsOf(link.context, link.context.isRemote === true));
    w.end(l);
  }
  if (span.droppedLinks > 0) w.uint(14, span.droppedLinks);
  if (span.statusCode !== SpanStatusCode.UNSET) {
    const s = w.begin(15);
    if (span.statusMessage) w.string(2, span.statusMessage);
    w.uint(3, span.statusCode);
    w.end(s);
  }
  w.fixed32(16, flagsOf(context, span.parentIsRemote));
  w.end(at);
}

/** A Resource message's contents: its attributes. */
export function encodeResource(attributes: Readonly<Record<string, string>>): Buffer {
  const w = new ProtobufWriter(512);
  writeAttributes(w, 1, Object.entries(attributes).flat());
  return Buffer.from(w.view());
}

/** An InstrumentationScope message's contents. */
export function encodeScope(name: string, version: string | undefined): Buffer {
  const w = new ProtobufWriter(128);
  w.string(1, name);
  if (version !== undefined) w.string(2, version);
  return Buffer.from(w.view());
}

/**
 * The ExportTraceServiceRequest of one batch: `spans`, the ScopeSpans.spans fields written by
 * writeSpan, behind the envelope that holds them.
 */
export function encodeRequest(resource: Buffer, scope: Buffer, spans: Buffer): Buffer {
  const scopeSpansLength = 1 + varintSize(scope.length) + scope.length + spans.length;
  const resourceSpansLength = 1 + varintSize(resource.length) + resource.length + 1 + varintSize(scopeSpansLength) + scopeSpansLength;
  const w = new ProtobufWriter(32 + resource.length + scope.length);
  w.tag(1, 2); // ExportTraceServiceRequest.resource_spans
  w.varint(resourceSpansLength);
  w.bytes(1, resource); // ResourceSpans.resource
  w.tag(2, 2); // ResourceSpans.scope_spans
  w.varint(scopeSpansLength);
  w.bytes(1, scope); // ScopeSpans.scope
  return Buffer.concat([w.view(), spans]);
}

/**
 * A span's attributes, each written once and then copied: most of them (the server, the method,
 * the tool, the protocol) come back request after request. Bounded: so many keys, so many values
 * a key, and so many bytes each; past that, attributes are written each time.
 */
const KEY_VALUES = new Map<string, Map<string | number | boolean, Buffer>>();
const MAX_KEYS = 256;
const MAX_VALUES_PER_KEY = 256;
/** A long value (a client's resource URI, say) is written each time, never kept. */
const MAX_KEPT_BYTES = 256;
/** Span.attributes. */
const SPAN_ATTRIBUTES = 9;

/** A group's Span.attributes fields, written the first time it is seen (recorded-span.ts checked it: frozen, plain values). */
const GROUPS = new WeakMap<object, Buffer>();

function encodedGroup(group: object): Buffer {
  let bytes = GROUPS.get(group);
  if (bytes === undefined) {
    const w = new ProtobufWriter(256);
    writeAttributes(w, SPAN_ATTRIBUTES, Object.entries(group).flat());
    GROUPS.set(group, (bytes = Buffer.from(w.view())));
  }
  return bytes;
}

/** KeyValue fields from a flat key, value list. */
function writeAttributes(w: ProtobufWriter, field: number, list: readonly unknown[]): void {
  for (let i = 0; i < list.length; i += 2) {
    const key = list[i] as string;
    const value = list[i + 1];
    const plain = field === SPAN_ATTRIBUTES && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean');
    let values: Map<string | number | boolean, Buffer> | undefined;
    if (plain) {
      values = KEY_VALUES.get(key);
      const written = values?.get(value);
      if (written !== undefined) {
        w.raw(written);
        continue;
      }
    }
    const start = w.pos;
    const kv = w.begin(field);
    w.string(1, key);
    writeAnyValue(w, 2, value);
    w.end(kv);
    if (!plain) continue;
    if (values === undefined && KEY_VALUES.size < MAX_KEYS) KEY_VALUES.set(key, (values = new Map()));
    if (values !== undefined && values.size < MAX_VALUES_PER_KEY && w.pos - start <= MAX_KEPT_BYTES) values.set(value as string | number | boolean, Buffer.from(w.view(start)));
  }
}

/** An AnyValue: a string, a bool, an int64 for an integer, a double otherwise, or an array of them. */
function writeAnyValue(w: ProtobufWriter, field: number, value: unknown): void {
  const any = w.begin(field);
  switch (typeof value) {
    case 'string':
      w.string(1, value);
      break;
    case 'boolean':
      w.bool(2, value);
      break;
    case 'number':
      if (Number.isSafeInteger(value)) w.int64(3, value);
      else w.double(4, value);
      break;
    default:
      if (Array.isArray(value)) {
        const array = w.begin(5);
        for (const item of value) {
          if (item === null || item === undefined) w.end(w.begin(1)); // an empty AnyValue
          else writeAnyValue(w, 1, item);
        }
        w.end(array);
      }
  }
  w.end(any);
}

function writeTime(w: ProtobufWriter, field: number, time: SpanTime): void {
  const [lo, hi] = nanoWords(time);
  w.fixed64(field, lo, hi);
}

function flagsOf(context: SpanContext, remote: boolean): number {
  return (context.traceFlags & 0xff) | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0);
}
