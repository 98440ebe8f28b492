/**
 * A real OTLP receiver for the tracing tests: @elastic/mockotlpserver (Elastic's; it decodes with
 * the official protos), HTTP only, on 127.0.0.1 and a free port. It takes OTLP/protobuf (the Node
 * SDK's exporter) and OTLP/JSON (the Python fixture) on /v1/traces; the spans of both come out in
 * one shape, ReceivedSpan.
 *
 * One receiver per test process: mockotlpserver hands requests to its callbacks over a
 * process-global diagnostics channel and never unsubscribes them, so two receivers would each see
 * the other's spans. otlpReceiver() starts it on first use and returns the same one after that.
 * Tests in one process share it: filter by trace id (spansOf), which makeTraceparent makes fresh.
 *
 * startBrokenCollector is the other kind: a collector that answers every export with one status.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockOtlpServer, normalizeTrace, type NormalizedSpan, type NormalizedTraceRequest } from '@elastic/mockotlpserver';
import { waitFor } from './wait.js';

export type SpanKindName = 'SERVER' | 'CLIENT' | 'INTERNAL' | 'PRODUCER' | 'CONSUMER' | 'UNSPECIFIED';
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR';
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue } | Uint8Array;
export type Attributes = Record<string, AttributeValue>;

export interface ReceivedSpan {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** 16 lowercase hex digits; '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly name: string;
  readonly kind: SpanKindName;
  /** The resource's `service.name`; '' when it has none. */
  readonly serviceName: string;
  readonly resource: Attributes;
  readonly scope: string;
  readonly attributes: Attributes;
  readonly links: readonly { readonly traceId: string; readonly spanId: string; readonly attributes: Attributes }[];
  readonly events: readonly { readonly name: string; readonly attributes: Attributes }[];
  readonly status: { readonly code: StatusCodeName; readonly message?: string };
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export interface OtlpReceiver {
  /** The base, `http://127.0.0.1:PORT`: what OTEL_EXPORTER_OTLP_ENDPOINT takes (the SDK appends /v1/traces). */
  readonly url: string;
  /** `…/v1/traces`: what OTEL_EXPORTER_OTLP_TRACES_ENDPOINT takes (used as is). */
  readonly tracesUrl: string;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /** The spans received so far in one trace. */
  spansOf(traceId: string): ReceivedSpan[];
  /** Polls until `predicate` holds of every span received so far (never a sleep); fails naming `what` and what did arrive. */
  waitForSpans(predicate: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Closes the listener. The next otlpReceiver() starts a new one. Safe to call twice. */
  stop(): Promise<void>;
}

let current: Promise<OtlpReceiver> | undefined;

/** This test process's receiver, started on first use. */
export function otlpReceiver(): Promise<OtlpReceiver> {
  current ??= startReceiver().catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

/** A receiver of its own on `hostname` (where pods in network namespaces reach it), stopped by its caller. */
export function startOtlpReceiver(hostname: string): Promise<OtlpReceiver> {
  return startReceiver(hostname, false);
}

async function startReceiver(hostname = '127.0.0.1', shared = true): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const problems: string[] = [];
  let open = true;
  const server = new MockOtlpServer({
    services: ['http'],
    httpHostname: hostname,
    httpPort: 0,
    logLevel: 'warn',
    onTrace: (request) => {
      if (!open) return; // a stopped receiver's callback stays subscribed: it must not collect
      try {
        received.push(...spansIn(normalizeTrace(request)));
      } catch (error) {
        // Thrown here it would be rethrown as an uncaught exception of the test process.
        problems.push(`an export request could not be read: ${(error as Error).message}`);
      }
    },
  });
  await server.start();
  const url = new URL(server.httpUrl!).origin;
  const stop = async () => {
    if (!open) return;
    open = false;
    if (shared) current = undefined;
    await server.close();
  };
  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    spans: () => [...received],
    spansOf: (traceId) => received.filter((span) => span.traceId === traceId.toLowerCase()),
    async waitForSpans(predicate, what, timeoutMs = 10_000) {
      try {
        return await waitFor(() => {
          const spans = [...received];
          return predicate(spans) && spans;
        }, what, timeoutMs);
      } catch (error) {
        throw new Error(`${(error as Error).message}; received ${describeSpans(received)}${problems.length ? `; ${problems.join('; ')}` : ''}`);
      }
    },
    stop,
  };
}

/** The spans of one normalised export request, each with its resource. */
function spansIn(request: NormalizedTraceRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = (resourceSpans.resource?.attributes ?? {}) as Attributes;
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) spans.push(normaliseSpan(span, resource, scopeSpans.scope?.name ?? ''));
    }
  }
  return spans;
}

const KINDS: readonly SpanKindName[] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const CODES: readonly StatusCodeName[] = ['UNSET', 'OK', 'ERROR'];

function normaliseSpan(span: NormalizedSpan, resource: Attributes, scope: string): ReceivedSpan {
  const status = span.status ?? {};
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: hex(span.parentSpanId),
    traceState: span.traceState ?? '',
    name: span.name,
    kind: enumName(span.kind, 'SPAN_KIND_', KINDS),
    serviceName: typeof resource['service.name'] === 'string' ? resource['service.name'] : '',
    resource,
    scope,
    attributes: (span.attributes ?? {}) as Attributes,
    links: (span.links ?? []).map((link) => ({ traceId: hex(link.traceId), spanId: hex(link.spanId), attributes: (link.attributes ?? {}) as Attributes })),
    events: (span.events ?? []).map((event) => ({ name: event.name, attributes: (event.attributes ?? {}) as Attributes })),
    status: { code: enumName(status.code, 'STATUS_CODE_', CODES), ...(status.message ? { message: status.message } : {}) },
    startNs: BigInt(span.startTimeUnixNano ?? 0),
    endNs: BigInt(span.endTimeUnixNano ?? 0),
  };
}

/** `SPAN_KIND_SERVER` (protobuf, normalised) or 2 (a number left as sent) -> `SERVER`. */
function enumName<T extends string>(value: string | number | undefined, prefix: string, names: readonly T[]): T {
  if (typeof value === 'number') return names[value] ?? names[0]!;
  const name = (value ?? '').replace(prefix, '');
  return (names as readonly string[]).includes(name) ? (name as T) : names[0]!;
}

function hex(id: string | undefined): string {
  return (id ?? '').toLowerCase();
}

function describeSpans(spans: readonly ReceivedSpan[]): string {
  if (spans.length === 0) return 'no spans';
  return `${spans.length} spans: ${spans.map((s) => `${s.serviceName}/${s.name} ${s.kind} ${s.traceId}/${s.spanId}<-${s.parentSpanId || 'root'}`).join(', ')}`;
}

/** A fresh W3C trace context to send: `00-<traceId>-<spanId>-01` (or `-00` unsampled). */
export function makeTraceparent(sampled = true): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

export interface StatusCollector {
  /** The base, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `…/v1/traces`. */
  readonly tracesUrl: string;
  /** How many POSTs it has answered. */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * A collector that reads every export and answers it with `status`, decoding nothing: one that
 * refuses (a 503 makes the exporter retry, a 400 not), or with 200 a sink whose own cost is nil (the benches).
 */
export async function startStatusCollector(status: number): Promise<StatusCollector> {
  let posts = 0;
  const server = http.createServer((req, res) => {
    req.resume(); // read the whole export before answering, so the exporter sees the status, not a reset
    req.once('end', () => {
      if (req.method === 'POST') posts++;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status} from a collector that reads nothing\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    requests: () => posts,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
