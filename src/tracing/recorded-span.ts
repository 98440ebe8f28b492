/**
 * A sampled span, as @opentelemetry/api's Span: what is set on it is kept as it comes (attributes
 * as a flat key, value list; no copies, no attribute objects), and its end hands it to the sink,
 * which encodes it at once (span-batches.ts), so that it dies young. The OTel SDK's rules are
 * kept: a setter on an ended span is ignored, a status set to OK is final, a description only goes
 * with ERROR, and past 128 attributes, events or links, more are dropped and counted.
 *
 * Attributes given as one frozen object of strings, numbers and booleans, at the start or as the
 * first set, are kept as that object, a group (the same object span after span, as
 * request-spans.ts gives): checked once, and encoded once (otlp-encoding.ts). Setting a key of
 * the group later spreads the group into the list first, so that the value is replaced in place.
 */
import { diag, SpanStatusCode, type Attributes, type AttributeValue, type Exception, type Link, type SpanAttributes, type SpanAttributeValue, type SpanContext, type SpanKind, type SpanStatus, type TimeInput, type Span } from '@opentelemetry/api';
import type { IdWords } from './span-ids.js';
import { latestSpanTime, toSpanTime, type SpanTime } from './span-time.js';

/** The OTel SDK's default span limits. */
export const SPAN_LIMITS = { attributes: 128, events: 128, links: 128 } as const;

export interface SpanEvent {
  readonly name: string;
  readonly time: SpanTime;
  /** Flat: key, value, key, value. */
  readonly attributes: readonly unknown[];
  readonly droppedAttributes: number;
}

export interface SpanLink {
  readonly context: SpanContext;
  readonly attributes: readonly unknown[];
  readonly droppedAttributes: number;
}

/** Where an ended span goes. */
export interface SpanSink {
  take(span: RecordedSpan): void;
}

export class RecordedSpan implements Span {
  /** Flat: key, value, key, value, in the order first set (after the group's). */
  attributes: unknown[] = [];
  /** The frozen attributes given at the start or set first, when they were taken whole (see above). */
  group: Readonly<Attributes> | undefined;
  groupKeys: ReadonlySet<string> | undefined;
  groupSize = 0;
  droppedAttributes = 0;
  events: SpanEvent[] | undefined;
  droppedEvents = 0;
  links: SpanLink[] | undefined;
  droppedLinks = 0;
  statusCode: SpanStatusCode = SpanStatusCode.UNSET;
  statusMessage: string | undefined;
  endTime: SpanTime | undefined;

  constructor(
    public name: string,
    readonly kind: SpanKind,
    readonly context: SpanContext,
    /** The context's ids (and the parent's) as words, for the encoder. */
    readonly ids: IdWords,
    /** The parent's span id, and whether it came from another process. */
    readonly parentSpanId: string | undefined,
    readonly parentIsRemote: boolean,
    readonly startTime: SpanTime,
    private readonly sink: SpanSink,
  ) {}

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    if (this.endTime !== undefined || key.length === 0 || !isAttributeValue(value)) return this;
    if (this.groupKeys !== undefined && this.groupKeys.has(key)) this.spreadGroup();
    putAttribute(this.attributes, key, value, this, this.groupSize);
    return this;
  }

  /** Every attribute, flat, the group's first. */
  allAttributes(): unknown[] {
    return this.group === undefined ? this.attributes : [...Object.entries(this.group).flat(), ...this.attributes];
  }

  /** The group's entries moved into the list, ahead of what was set since. */
  private spreadGroup(): void {
    this.attributes = this.allAttributes();
    this.group = undefined;
    this.groupKeys = undefined;
    this.groupSize = 0;
  }

  /** Attributes, one by one; or, as the first set on the span and when they can be, as its group. */
  setAttributes(attributes: SpanAttributes): this {
    if (this.endTime !== undefined) return this;
    if (this.group === undefined && this.attributes.length === 0) {
      const keys = groupKeysOf(attributes);
      if (keys !== null) {
        this.group = attributes;
        this.groupKeys = keys;
        this.groupSize = keys.size;
        return this;
      }
    }
    for (const key in attributes) this.setAttribute(key, attributes[key]!);
    return this;
  }

  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (this.endTime !== undefined) return this;
    if (isTimeInput(attributesOrTime)) [time, attributesOrTime] = [attributesOrTime, undefined];
    if ((this.events ??= []).length >= SPAN_LIMITS.events) {
      this.droppedEvents++;
      return this;
    }
    const [attributes, dropped] = flattenAttributes(attributesOrTime);
    this.events.push({ name, time: toSpanTime(time), attributes, droppedAttributes: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this.endTime !== undefined) return this;
    if ((this.links ??= []).length >= SPAN_LIMITS.links) {
      this.droppedLinks++;
      return this;
    }
    const [attributes, dropped] = flattenAttributes(link.attributes);
    this.links.push({ context: link.context, attributes, droppedAttributes: dropped });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.endTime !== undefined || this.statusCode === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.statusCode = status.code;
    this.statusMessage = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? status.message : undefined;
    return this;
  }

  updateName(name: string): this {
    if (this.endTime === undefined) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.endTime !== undefined) {
      diag.warn(`the span ${this.name} (${this.context.spanId}) was ended twice`);
      return;
    }
    // An end before the start (a clock that went back) is the start: a duration is never negative.
    this.endTime = latestSpanTime(toSpanTime(endTime), this.startTime);
    this.sink.take(this);
  }

  isRecording(): boolean {
    return this.endTime === undefined;
  }

  /** An `exception` event, with the semantic conventions' attributes, as the OTel SDK writes it. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      const type = exception.code !== undefined ? String(exception.code) : exception.name;
      if (type !== undefined) attributes['exception.type'] = type;
      if (exception.message !== undefined) attributes['exception.message'] = exception.message;
      if (exception.stack !== undefined) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] === undefined && attributes['exception.message'] === undefined) return;
    this.addEvent('exception', attributes, time);
  }
}

/** Sets `key` in a flat list (replacing its value when it has one), within the attribute limit (`held` more are held elsewhere). */
function putAttribute(list: unknown[], key: string, value: AttributeValue, counts: { droppedAttributes: number }, held = 0): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === key) {
      list[i + 1] = value;
      return;
    }
  }
  if (list.length + held * 2 >= SPAN_LIMITS.attributes * 2) counts.droppedAttributes++;
  else list.push(key, value);
}

/** An event's or a link's attributes as a flat list, and how many went over the limit. */
function flattenAttributes(attributes: Attributes | undefined): [unknown[], number] {
  const list: unknown[] = [];
  const counts = { droppedAttributes: 0 };
  if (attributes) for (const key in attributes) {
    const value = attributes[key];
    if (key.length > 0 && isAttributeValue(value)) putAttribute(list, key, value, counts);
  }
  return [list, counts.droppedAttributes];
}

/** Groups checked so far: their keys (none for an object that cannot be a group). */
const GROUP_KEYS = new WeakMap<object, ReadonlySet<string> | null>();

/**
 * The keys of `attributes` if it can be a group: frozen (so that what was checked and encoded
 * stays true), within the limit, every key named and every value a string, a number or a
 * boolean (an array could change inside a frozen object). Else null.
 */
function groupKeysOf(attributes: SpanAttributes): ReadonlySet<string> | null {
  // Only frozen objects are kept, and one never thaws.
  const known = GROUP_KEYS.get(attributes);
  if (known !== undefined) return known;
  if (!Object.isFrozen(attributes)) return null;
  let keys: Set<string> | null = new Set();
  for (const key in attributes) {
    const type = typeof attributes[key];
    if (key.length === 0 || (type !== 'string' && type !== 'number' && type !== 'boolean')) keys = null;
    if (keys === null) break;
    keys.add(key);
  }
  if (keys !== null && keys.size > SPAN_LIMITS.attributes) keys = null;
  GROUP_KEYS.set(attributes, keys);
  return keys;
}

/** A string, number or boolean, or an array of one of them (nulls allowed), as the api allows. */
export function isAttributeValue(value: unknown): value is AttributeValue {
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return true;
  if (!Array.isArray(value)) return false;
  let kind: string | undefined;
  for (const item of value) {
    if (item === null || item === undefined) continue;
    const itemType = typeof item;
    if (itemType !== 'string' && itemType !== 'number' && itemType !== 'boolean') return false;
    if (kind === undefined) kind = itemType;
    else if (kind !== itemType) return false;
  }
  return true;
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number');
}
