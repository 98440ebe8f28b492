/**
 * An OTLP/HTTP protobuf trace export, decoded with the official opentelemetry-proto definitions
 * (the copy @elastic/mockotlpserver ships, read by protobufjs): what a collector would make of
 * the bytes mcpmux sends. Ids come out as hex, times as nanoseconds in a bigint, values as plain
 * JS values.
 */
import { createRequire } from 'node:module';

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
const require = createRequire(import.meta.url);
const { getProtoRoot } = require('@elastic/mockotlpserver/lib/proto.js') as { getProtoRoot(): { lookupType(name: string): ProtoType } };
const REQUEST = getProtoRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

export interface DecodedValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: DecodedValue[] };
}
export interface DecodedKeyValue {
  key: string;
  value: DecodedValue;
}
export interface DecodedSpan {
  traceId: string;
  spanId: string;
  traceState?: string;
  parentSpanId?: string;
  flags?: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: DecodedKeyValue[];
  droppedAttributesCount?: number;
  events?: { timeUnixNano: string; name: string; attributes?: DecodedKeyValue[] }[];
  droppedEventsCount?: number;
  links?: { traceId: string; spanId: string; traceState?: string; attributes?: DecodedKeyValue[]; flags?: number }[];
  status?: { message?: string; code?: number };
}
export interface DecodedRequest {
  resourceSpans: { resource: { attributes: DecodedKeyValue[] }; scopeSpans: { scope: { name: string; version?: string }; spans: DecodedSpan[] }[] }[];
}

export function decodeTraceRequest(bytes: Uint8Array): DecodedRequest {
  const message = REQUEST.decode(bytes);
  const object = REQUEST.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false, arrays: true });
  return hexIds(object) as DecodedRequest;
}

/** A key-value list as an object of plain values. */
export function valuesOf(list: readonly DecodedKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, plain(value)]));
}

function plain(value: DecodedValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map((v) => (Object.keys(v).length === 0 ? null : plain(v)));
  return undefined;
}

/** protobufjs gives bytes as base64: ids are read as hex. */
function hexIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIds);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = /^(traceId|spanId|parentSpanId)$/.test(key) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : hexIds(v);
  return out;
}
