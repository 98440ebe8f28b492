/**
 * What the handler learns about a request as it goes, kept on the request itself (a symbol, no
 * map): its server, its admission, its session under `cluster`, its caller, and what the metrics
 * and the access log report of it when it is done.
 */
import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/gate.js';
import type { McpCall } from '../events.js';
import type { Endpoint } from '../routing/endpoint.js';
import type { SessionEntry } from '../routing/sessions.js';
import type { RequestSpans } from '../tracing/request-spans.js';

/** What the handler learns about a request as it goes: its server, and whether a child got it. */
export interface RequestState {
  server: string;
  forwarded: boolean;
  /** The process it went to, once admitted. */
  endpoint?: Endpoint | undefined;
  /** Its session's entry, held in use from admission to the end (never evicted meanwhile). */
  held?: SessionEntry | undefined;
  /** It has its connection's turn (pipelined requests run one at a time). */
  entered: boolean;
  /** The MCP call it carries: from the 2026-07-28 headers, or the first chunk of its body. */
  mcp?: McpCall | undefined;
  /** The first and the last chunk of a JSON answer to a POST (relay.ts's tap), for `mcpError`. */
  first?: Buffer | undefined;
  last?: Buffer | undefined;
  /** Under `cluster`: the session id as the client sent it (sealed), and as the child knows it. */
  sealed?: string | undefined;
  inner?: string | undefined;
  /** Relayed to this owner pod: no child of this pod has it. */
  owner?: string | undefined;
  /** Relayed here by this peer pod, under a valid mark: its X-Forwarded-* are believed. */
  relayedBy?: string | undefined;
  /** On an OAuth route, who called; and what of it the access log names (clientId, and subject when asked). */
  caller?: Caller | undefined;
  logged?: { clientId?: string; subject?: string } | undefined;
  /** When it arrived (performance.now()), and with tracing on, its spans (proxy/trace-hop.ts). */
  startedAt?: number | undefined;
  spans?: RequestSpans | undefined;
}
export const STATE = Symbol('mcpmux.request');
export type ProxiedRequest = IncomingMessage & { [STATE]?: RequestState };

/** The state of a request the handler has seen. */
export function stateOf(req: IncomingMessage): RequestState | undefined {
  return (req as ProxiedRequest)[STATE];
}
