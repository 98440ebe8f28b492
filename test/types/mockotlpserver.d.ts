/**
 * @elastic/mockotlpserver 0.10 ships no type declarations: this is the part of its surface the
 * test OTLP receiver (test/helpers/otlp.ts) uses, as its source (lib/mockotlpserver.js,
 * lib/normalize.js) describes it.
 */
declare module '@elastic/mockotlpserver' {
  export interface MockOtlpServerOptions {
    /** Which listeners to start; the default starts all three, gRPC and the UI on fixed ports. */
    services?: Array<'http' | 'grpc' | 'ui'>;
    httpHostname?: string;
    /** 0 picks a free port. */
    httpPort?: number;
    /** A luggite level: trace, debug, info, warn, error, fatal. */
    logLevel?: string;
    /**
     * Called with each decoded ExportTraceServiceRequest (a protobufjs message for OTLP/protobuf,
     * the parsed body for OTLP/JSON). Rides a process-global diagnostics channel and is never
     * unsubscribed: every server in the process sees every request.
     */
    onTrace?: (request: unknown) => void;
    onMetrics?: (request: unknown) => void;
    onLogs?: (request: unknown) => void;
    onRequest?: (request: unknown) => void;
  }

  export class MockOtlpServer {
    constructor(options?: MockOtlpServerOptions);
    /** The HTTP listener's base URL, e.g. `http://127.0.0.1:33209/`, once started. */
    httpUrl: URL | null;
    start(): Promise<void>;
    close(): Promise<void>;
  }

  /**
   * The same shape whichever the wire format: ids in hex, `kind` and `status.code` as enum names
   * (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`), attributes as a plain object, 64-bit integers as strings.
   */
  export function normalizeTrace(request: unknown): NormalizedTraceRequest;

  export interface NormalizedTraceRequest {
    resourceSpans?: {
      resource?: { attributes?: Record<string, unknown> };
      scopeSpans?: { scope?: { name?: string; version?: string }; spans?: NormalizedSpan[] }[];
    }[];
  }

  export interface NormalizedSpan {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    traceState?: string;
    name: string;
    kind?: string | number;
    startTimeUnixNano?: string | number;
    endTimeUnixNano?: string | number;
    attributes?: Record<string, unknown>;
    events?: { name: string; timeUnixNano?: string | number; attributes?: Record<string, unknown> }[];
    links?: { traceId: string; spanId: string; traceState?: string; attributes?: Record<string, unknown> }[];
    status?: { code?: string | number; message?: string };
  }
}
