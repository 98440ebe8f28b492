/**
 * The client's side of one bridged MCP session: the SDK's streamable HTTP server transport, the
 * client's requests in flight, and the choice of stream for what the server sends. Responses find
 * their stream by request id (the transport does that); the rest needs a stream chosen here, since
 * stdio says nothing about which request a message belongs to:
 * - progress goes on the stream of the request whose progressToken it carries;
 * - any other notification or server-to-client request (sampling, elicitation, roots/list,
 *   logging, list_changed) goes on the stream of the one request in flight, if there is exactly
 *   one; else on the client's GET stream; else on the newest request's stream; and with neither a
 *   request nor a GET stream, it waits (bounded) for whichever comes first.
 * What happens to the client's messages is the owner's business (isolated.ts, shared.ts).
 *
 * Flow: the session is congested while a response of its needs to drain (its client is not
 * reading: the socket's buffers are full, and the SDK's transport queues what comes next in its
 * own web stream, which nothing bounds), or while what is held for want of a stream is over
 * MAX_QUEUED_BYTES or HELD_CONGESTED_AT messages. An isolated session's process then waits on its own pipe (onCongestion);
 * what still reaches a congested session is counted, and past MAX_QUEUED_BYTES it overflows
 * (onOverflow): a shared session is ended then, since its process serves everyone.
 */
import type { ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { IsomorphicHeaders, JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { MessageSpans } from '../tracing/message-spans.js';
import { describeRefusal, type RefusalReason } from '../answers.js';

/** Messages held for a stream that is not open yet: at this many the session is congested (its process waits)... */
const HELD_CONGESTED_AT = 1000;
/** ...and past this many (what was already read when it began to wait: a chunk and the stream's buffer), the oldest is dropped. */
const MAX_HELD_MESSAGES = 2000;
/** A session's queue (unread by its client, or held for a stream) past this is congested. */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/** And no longer once it is back under this. */
export const RESUME_BELOW_BYTES = 256 * 1024;
/** A message's size when its size on stdout is not known (one the bridge made). */
const UNKNOWN_MESSAGE_BYTES = 256;

export type SessionEnd = 'deleted' | 'idle' | 'evicted' | 'backlogged' | 'process-exited' | 'stdout-refused' | 'initialize-timeout' | 'stopped';

export type ProgressToken = string | number;

export interface ClientSessionHooks {
  /** A message from the client: a request (already counted in flight), a notification or a response. */
  readonly onClientMessage: (message: JSONRPCMessage) => void;
  /** The session is over (the client's DELETE, or end()). Called once. */
  readonly onEnded: (reason: SessionEnd, detail?: string) => void;
  /** A message could not be delivered or held; for the log. */
  readonly onDropped: (why: string) => void;
  /** The session's client stopped keeping up (true), or caught up (false). */
  readonly onCongestion?: (congested: boolean) => void;
  /** More than MAX_QUEUED_BYTES went to the session while it was congested. */
  readonly onOverflow?: () => void;
  /** With tracing on: a span per client request, its context put in the request's `_meta`. */
  readonly spans?: MessageSpans | undefined;
}

export class ClientSession {
  readonly transport: StreamableHTTPServerTransport;
  readonly #hooks: ClientSessionHooks;
  readonly #now: () => number;
  /** Client requests not answered yet, in arrival order, with their progressTokens. */
  readonly #inFlight = new Map<RequestId, ProgressToken | undefined>();
  readonly #progress = new Map<ProgressToken, RequestId>();
  readonly #held: [JSONRPCMessage, number][] = [];
  #heldBytes = 0;
  /** The HTTP responses of this session that are open: its GET stream, and its requests' answers. */
  readonly #responses = new Set<ServerResponse>();
  #congested = false;
  /** Bytes sent to the session since it turned congested. */
  #backlog = 0;
  readonly #recheck = () => this.#checkFlow();
  #getStreams = 0;
  #lastActive: number;
  #ended = false;

  constructor(transport: StreamableHTTPServerTransport, hooks: ClientSessionHooks, now: () => number = Date.now) {
    this.transport = transport;
    this.#hooks = hooks;
    this.#now = now;
    this.#lastActive = now();
    transport.onmessage = (message, extra) => this.#fromClient(message, extra?.requestInfo?.headers);
    transport.onclose = () => void this.end('deleted');
  }

  get id(): string | undefined {
    return this.transport.sessionId;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** An HTTP response of this session (before the transport writes to it): its buffer counts in the queue. */
  watch(res: ServerResponse): void {
    this.#responses.add(res);
    res.on('drain', this.#recheck);
    res.once('close', () => {
      this.#responses.delete(res);
      res.off('drain', this.#recheck);
      this.#checkFlow();
    });
  }

  /** Bytes waiting for the client: unread in its responses' buffers, or held for a stream. */
  get queuedBytes(): number {
    let bytes = this.#heldBytes;
    for (const res of this.#responses) bytes += res.writableLength;
    return bytes;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** No request in flight, no open GET stream, and nothing happened for `idleMs`. */
  isIdle(idleMs: number): boolean {
    return this.#inFlight.size === 0 && this.#getStreams === 0 && this.#now() - this.#lastActive >= idleMs;
  }

  /** When anything last happened on the session. */
  get lastActive(): number {
    return this.#lastActive;
  }

  /** The client's GET stream is open at the transport: held messages go out on it. */
  streamOpened(): void {
    this.#getStreams += 1;
    this.#touch();
    this.#flushHeld();
  }

  streamClosed(): void {
    this.#getStreams = Math.max(0, this.#getStreams - 1);
    this.#touch();
  }

  get hasStream(): boolean {
    return this.#getStreams > 0;
  }

  /** Answers a request in flight (a response from the server, or one made here). False if it is not in flight. */
  respond(message: JSONRPCMessage & { id: RequestId }, bytes = UNKNOWN_MESSAGE_BYTES): boolean {
    this.#touch();
    if (!this.#inFlight.has(message.id)) return false;
    const token = this.#inFlight.get(message.id);
    this.#inFlight.delete(message.id);
    if (token !== undefined) this.#progress.delete(token);
    this.#hooks.spans?.end(message.id, message);
    void this.#send(message, undefined, bytes);
    return true;
  }

  /** A notification or request from the server, on the stream the rules above choose. `bytes`: its size, if known. */
  deliver(message: JSONRPCMessage, bytes = UNKNOWN_MESSAGE_BYTES): void {
    this.#touch();
    if ('method' in message && message.method === 'notifications/progress' && !('id' in message)) {
      const related = this.#progress.get((message.params as { progressToken?: ProgressToken } | undefined)?.progressToken ?? '');
      if (related !== undefined && this.#inFlight.has(related)) return void this.#send(message, related, bytes);
    }
    const ids = [...this.#inFlight.keys()];
    if (ids.length === 1) return void this.#send(message, ids[0], bytes);
    if (this.#getStreams > 0) return void this.#send(message, undefined, bytes);
    if (ids.length > 1) return void this.#send(message, ids[ids.length - 1], bytes);
    if (this.#held.length >= MAX_HELD_MESSAGES) {
      this.#heldBytes -= this.#held.shift()![1];
      this.#hooks.onDropped('too many messages waiting for a stream');
    }
    this.#held.push([message, bytes]);
    this.#heldBytes += bytes;
    this.#checkFlow();
  }

  /** On the GET stream only, if open (a notification for every session); else dropped. */
  broadcast(message: JSONRPCMessage, bytes = UNKNOWN_MESSAGE_BYTES): void {
    if (this.#getStreams > 0) void this.#send(message, undefined, bytes);
  }

  /** Each request in flight gets this refusal (`process_gone` unless said), with this message. */
  async failInFlight(message: string, reason: RefusalReason = 'process_gone'): Promise<void> {
    const ids = [...this.#inFlight.keys()];
    this.#inFlight.clear();
    this.#progress.clear();
    this.#hooks.spans?.endAll(reason);
    await Promise.all(ids.map((id) => this.#send(describeRefusal(reason, message, undefined, id) as JSONRPCMessage)));
  }

  /** Ends the session: the transport closes (its streams end; later requests get 404). Safe to call twice. */
  async end(reason: SessionEnd, detail?: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.onEnded(reason, detail);
    this.#hooks.spans?.endAll(reason);
    this.#inFlight.clear();
    this.#progress.clear();
    this.#held.length = 0;
    this.#heldBytes = 0;
    await this.transport.close().catch(() => undefined);
  }

  #touch(): void {
    this.#lastActive = this.#now();
  }

  #fromClient(message: JSONRPCMessage, headers: IsomorphicHeaders | undefined): void {
    this.#touch();
    if ('method' in message && 'id' in message) {
      const request = this.#hooks.spans ? this.#hooks.spans.start(message, headers) : message;
      const token = progressTokenOf(request);
      this.#inFlight.set(request.id, token);
      if (token !== undefined) this.#progress.set(token, request.id);
      this.#hooks.onClientMessage(request);
      // Messages held for want of a stream go out on this request's.
      this.#flushHeld(request.id);
      return;
    }
    this.#hooks.onClientMessage(message);
  }

  #flushHeld(relatedRequestId?: RequestId): void {
    if (this.#held.length === 0) return;
    const held = this.#held.splice(0);
    this.#heldBytes = 0;
    for (const [message, bytes] of held) void this.#send(message, relatedRequestId, bytes);
  }

  async #send(message: JSONRPCMessage, relatedRequestId?: RequestId, bytes = UNKNOWN_MESSAGE_BYTES): Promise<void> {
    if (this.#congested) {
      this.#backlog += bytes;
      if (this.#backlog > MAX_QUEUED_BYTES) this.#hooks.onOverflow?.();
    }
    try {
      await this.transport.send(message, relatedRequestId === undefined ? undefined : { relatedRequestId });
    } catch (error) {
      // The request's stream is gone (the client left): nothing can carry this message.
      this.#hooks.onDropped((error as Error).message);
    }
    this.#checkFlow();
  }

  #checkFlow(): void {
    if (this.#ended) return;
    let draining = false;
    for (const res of this.#responses) draining ||= res.writableNeedDrain;
    const held = this.#heldBytes > MAX_QUEUED_BYTES || this.#held.length >= HELD_CONGESTED_AT;
    if (!this.#congested && (draining || held)) {
      this.#congested = true;
      this.#backlog = 0;
      this.#hooks.onCongestion?.(true);
    } else if (this.#congested && !draining && this.#heldBytes < RESUME_BELOW_BYTES && this.#held.length < HELD_CONGESTED_AT / 4) {
      this.#congested = false;
      this.#hooks.onCongestion?.(false);
    }
  }
}

export function progressTokenOf(request: JSONRPCRequest): ProgressToken | undefined {
  return (request.params?._meta as { progressToken?: ProgressToken } | undefined)?.progressToken;
}
