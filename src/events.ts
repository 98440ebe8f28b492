/**
 * Typed lifecycle events. The code that emits an event does not know who listens:
 * logging (and later metrics) subscribe here, nothing else reaches into them.
 */
import { EventEmitter } from 'node:events';
import type { ProbeKind } from './config/schema.js';
import type { ConfigProblem } from './errors.js';
import type { ProbeOutcome } from './probe/result.js';
import type { CallKind } from './auth/calls.js';
import type { AuthResult } from './auth/gate.js';

export type ServerState = 'starting' | 'ready' | 'unready' | 'backoff' | 'stopping' | 'stopped' | 'failed';
export type ProbeRole = 'startup' | 'readiness' | 'liveness';
export type OutputStream = 'stdout' | 'stderr';
export type ConnectionCloseReason = 'full' | 'per-client' | 'idle' | 'pipelined';

/**
 * A process's endpoint as an event carries it (routing/endpoint.ts's Endpoint is one): its address,
 * and the counters a drain waits on, kept by the proxy and the session affinity.
 */
export interface Endpoint {
  readonly server: string;
  readonly pid: number;
  readonly port: number;
  inFlight: number;
  streams: number;
  sessions: number;
  /** Set while the process drains (routing). */
  draining: boolean;
  readonly idle: boolean;
  readonly load: number;
}

export interface LifecycleEvents {
  'process-started': { server: string; pid: number; port: number };
  'process-spawn-failed': { server: string; error: string };
  'process-exited': { server: string; pid: number; code: number | null; signal: string | null; expected: boolean };
  'state-changed': { server: string; from: ServerState; to: ServerState; reason: string };
  'probe-result': { server: string; role: ProbeRole; kind: ProbeKind; outcome: ProbeOutcome; message: string; durationMs: number };
  'restart-scheduled': { server: string; replica: number; delayMs: number; reason: string; attempt: number };
  /** A process turned ready: its endpoint serves the route (a process it replaces then drains). */
  'endpoint-ready': { server: string; endpoint: Endpoint };
  /** A process failed its readiness probe: no traffic until it is ready again; its sessions are kept. */
  'endpoint-unready': { server: string; endpoint: Endpoint };
  /** A process being replaced or removed: it finishes its requests and sessions, and takes no new ones. */
  'endpoint-draining': { server: string; endpoint: Endpoint };
  /** A replaced process finished draining (`idle`), or its drainSeconds ran out with work left. */
  'process-drained': { server: string; pid: number; idle: boolean; inFlight: number; sessions: number };
  /** A process is gone (stopped or exited): nothing reaches it any more. */
  'endpoint-gone': { server: string; endpoint: Endpoint };
  'output': { server: string; stream: OutputStream; line: string; truncated: boolean };
  /** Lines of a server's output dropped over its budget since the last report. */
  'output-dropped': { server: string; lines: number };
  'upstream-error': { server: string; kind: string; message: string; responded: boolean };
  'request-started': { server: string };
  'request-finished': RequestRecord;
  /**
   * What became of a request for a session under `cluster`: relayed to its owner pod and answered
   * (`forwarded`), its owner unreachable (`owner_gone`), or refused before any connection was made
   * (`bad_seal`, `owner_refused`, `loop`).
   */
  'session-relay': { server: string; result: SessionRelayResult; owner?: string | undefined };
  /**
   * What auth made of a request on a route with auth (auth/gate.ts): `allowed`, or why not. A
   * policy denial (`denied`, `insufficient_scope` for a call) names the tool, prompt or resource.
   */
  'auth-result': { server: string; result: AuthResult; denied?: { kind: CallKind; name: string } | undefined };
  /** A key set or issuer metadata fetch (auth/key-sets.ts): for the metrics. */
  'key-set-fetch': { issuer: string; kind: 'jwks' | 'discovery'; result: 'ok' | 'error'; error?: string | undefined };
  /** mcpmux closed a public connection to keep its limits: refused (`full`, `per-client`), or closed to admit another (`idle`), or pipelining too deep (`pipelined`). */
  'connection-closed': { reason: ConnectionCloseReason };
  'listening': { listener: 'public' | 'admin'; host: string; port: number };
  'shutdown-step': { step: string; [key: string]: unknown };
  'internal-error': { where: string; error: unknown };
  /** A reload was applied: what it did to each server it touched (`trigger`: SIGHUP, the file watch). */
  'reload-applied': { trigger: string; actions: readonly { server: string; action: string; fields?: readonly string[] }[] };
  /** A reload changed nothing: the new config is invalid, or changes what needs a restart. */
  'reload-failed': { trigger: string; problems: readonly ConfigProblem[] };
  /** A rollout ended: the new process took over (`pid`), or failed to and the old one kept serving. */
  'rollout-finished': { server: string; trigger: string; ok: boolean; pid?: number; reason?: string; /** When it began (ms since the epoch, by the supervisor's clock). */ startedAt?: number };
  /** A rollout asked for by hand while another of the server ran: refused, nothing changed. */
  'rollout-refused': { server: string; trigger: string; reason: string };
  /** A rollout a reload needs waits for the one under way (`replaced`: it took the place of one already waiting). */
  'rollout-queued': { server: string; trigger: string; behind: { since: string; trigger: string }; replaced: boolean };
}

export type SessionRelayResult = 'forwarded' | 'owner_gone' | 'bad_seal' | 'owner_refused' | 'loop';

/** One answered request on the public listener: for the access log and the request metrics. */
export interface RequestRecord {
  /** The route's server, or "" when no route matched. */
  readonly server: string;
  readonly method: string;
  /** The path as the client sent it, without the query. */
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  /** Time to the response headers; undefined when none were sent (the client left first). */
  readonly firstByteMs: number | undefined;
  /** Bytes written to the client, headers included. */
  readonly bytes: number;
  /** The first 8 characters of Mcp-Session-Id, if any. */
  readonly session: string | undefined;
  /** True when the request was handed to a child (and counted in flight). */
  readonly forwarded: boolean;
  /** The pid of the process it was handed to. */
  readonly pid: number | undefined;
  /** The owner pod it was relayed to (cluster/): then it went to no child of this pod. */
  readonly owner?: string | undefined;
  /** The peer pod that relayed it here, under a valid mark. */
  readonly relayedBy?: string | undefined;
  /** On an OAuth route, the caller's token: its client_id, and its sub when auth.oauth.logSubject is set. */
  readonly clientId?: string | undefined;
  readonly subject?: string | undefined;
  /** True when the response did not complete (client left, or the child broke off). */
  readonly aborted: boolean;
  /** The MCP call a POST carried (see proxy/mcp-call.ts), if it named one. */
  readonly mcp: McpCall | undefined;
  /**
   * What the call came to, where it is cheap to see (OpenTelemetry's `error.type`): `''` for a
   * JSON answer that is a plain result, `tool_error` for a tools/call result with `isError`, the
   * JSON-RPC error code of a JSON error answer or of mcpmux's own refusal, `_OTHER` for an error
   * code outside JSON-RPC's reserved range and mcpmux's own; undefined when not seen (an SSE answer).
   */
  readonly mcpError: string | undefined;
  /** With tracing on, the trace id of the request's SERVER span when it is sampled (an exemplar's). */
  readonly traceId?: string | undefined;
}

export interface McpCall {
  readonly method: string;
  readonly name: string | undefined;
  readonly protocol: string | undefined;
}

export interface Events {
  emit<K extends keyof LifecycleEvents>(name: K, payload: LifecycleEvents[K]): void;
  on<K extends keyof LifecycleEvents>(name: K, listener: (payload: LifecycleEvents[K]) => void): void;
}

/**
 * A listener that throws is reported as `internal-error` and never breaks the emitter, nor the
 * other listeners. Each listener is guarded once, when it subscribes, so an emit (several per
 * request) costs no more than EventEmitter's own.
 */
export function createEvents(): Events {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    emit: (name, payload) => void emitter.emit(name, payload),
    on(name, listener) {
      emitter.on(name, (payload: LifecycleEvents[typeof name]) => {
        try {
          listener(payload);
        } catch (error) {
          if (name !== 'internal-error') emitter.emit('internal-error', { where: `listener of ${name}`, error });
        }
      });
    },
  };
}
