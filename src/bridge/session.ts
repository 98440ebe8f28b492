/**
 * One MCP session bridged to its own stdio process: the SDK's streamable HTTP server transport on
 * the client's side, the process's stdin and stdout on the other. Responses find their stream by
 * request id (the transport does that); the rest needs a stream chosen here, since stdio says
 * nothing about which request a message belongs to:
 * - progress goes on the stream of the request whose progressToken it carries;
 * - any other notification or server-to-client request (sampling, elicitation, roots/list,
 *   logging, list_changed) goes on the stream of the one request in flight, if there is exactly
 *   one; else on the client's GET stream; else on the newest request's stream; and with neither a
 *   request nor a GET stream, it waits for whichever comes first.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { StdioProcess, StdoutProblem } from './stdio-process.js';

/** Messages held for a stream that is not open yet; past it, the oldest is dropped. */
const MAX_HELD_MESSAGES = 1000;

/** JSON-RPC error code for a request whose process ended before it answered (implementation-defined range). */
export const PROCESS_GONE_CODE = -32002;

export type SessionEnd = 'deleted' | 'idle' | 'process-exited' | 'stdout-refused' | 'initialize-timeout' | 'stopped';

export interface SessionHooks {
  /** The session is over: take it out of the table. Called once. */
  readonly onEnded: (session: BridgeSession, reason: SessionEnd, detail?: string) => void;
  /** A message could not be delivered or held; for the log. */
  readonly onDropped: (session: BridgeSession, why: string) => void;
  /** The process answered the session's first request (initialize): with a result, or not at all. */
  readonly onInitializeAnswered: (session: BridgeSession, ok: boolean) => void;
  /** The process wrote something on stdout that is not a message; for the log. */
  readonly onStdoutProblem: (session: BridgeSession, problem: StdoutProblem) => void;
}

export class BridgeSession {
  readonly transport: StreamableHTTPServerTransport;
  readonly process: StdioProcess;
  readonly #hooks: SessionHooks;
  readonly #now: () => number;
  /** Client requests the process has not answered yet, in arrival order, with their progressTokens. */
  readonly #inFlight = new Map<RequestId, string | number | undefined>();
  readonly #progress = new Map<string | number, RequestId>();
  readonly #held: JSONRPCMessage[] = [];
  #getStreams = 0;
  #lastActive: number;
  #ended = false;
  #answered = false;

  readonly #initializeTimer: NodeJS.Timeout;

  constructor(transport: StreamableHTTPServerTransport, process: StdioProcess, hooks: SessionHooks, options: { initializeTimeoutMs: number; now?: () => number }) {
    const now = options.now ?? Date.now;
    this.transport = transport;
    this.process = process;
    this.#hooks = hooks;
    this.#now = now;
    this.#lastActive = now();
    transport.onmessage = (message) => this.#fromClient(message);
    transport.onclose = () => void this.end('deleted');
    process.attach({ onMessage: (message) => this.#fromProcess(message), onStdoutProblem: (problem) => this.#onProblem(problem) });
    this.#initializeTimer = setTimeout(() => {
      if (!this.#answered) void this.fail('initialize-timeout', `no answer to initialize in ${options.initializeTimeoutMs / 1000} s`);
    }, options.initializeTimeoutMs).unref();
    void process.exited.then((exit) => {
      if (!this.#ended) void this.fail('process-exited', exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`);
    });
  }

  get id(): string | undefined {
    return this.transport.sessionId;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** No request in flight, no open GET stream, and nothing happened for `idleMs`. */
  isIdle(idleMs: number): boolean {
    return this.#inFlight.size === 0 && this.#getStreams === 0 && this.#now() - this.#lastActive >= idleMs;
  }

  /** The client's GET stream is open at the transport: held messages go out on it. */
  streamOpened(): void {
    this.#getStreams += 1;
    this.#touch();
    for (const message of this.#held.splice(0)) void this.#send(message);
  }

  streamClosed(): void {
    this.#getStreams = Math.max(0, this.#getStreams - 1);
    this.#touch();
  }

  /** The process failed: each request in flight gets an error, then the session ends (later requests: 404). */
  async fail(reason: SessionEnd, detail: string): Promise<void> {
    if (this.#ended) return;
    if (!this.#answered) {
      this.#answered = true;
      this.#hooks.onInitializeAnswered(this, false);
    }
    const what = reason === 'stdout-refused' ? 'wrote a message over the size limit' : reason === 'initialize-timeout' ? 'did not answer' : 'ended';
    const message = `the server's process for this session ${what} (${detail}); start a new session`;
    await Promise.all([...this.#inFlight.keys()].map((id) => this.#send({ jsonrpc: '2.0', id, error: { code: PROCESS_GONE_CODE, message } })));
    await this.end(reason, detail);
  }

  /** Ends the session: the transport closes (its streams end), the process is stopped. Safe to call twice. */
  async end(reason: SessionEnd, detail?: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#initializeTimer);
    this.#hooks.onEnded(this, reason, detail);
    this.#inFlight.clear();
    this.#progress.clear();
    this.#held.length = 0;
    await Promise.all([this.transport.close().catch(() => undefined), this.process.stop()]);
  }

  #touch(): void {
    this.#lastActive = this.#now();
  }

  #fromClient(message: JSONRPCMessage): void {
    this.#touch();
    if ('method' in message && 'id' in message) {
      const token = (message.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
      this.#inFlight.set(message.id, token);
      if (token !== undefined) this.#progress.set(token, message.id);
      this.process.send(message);
      // Messages held for want of a stream go out on this request's.
      for (const held of this.#held.splice(0)) void this.#send(held, message.id);
      return;
    }
    this.process.send(message);
  }

  #fromProcess(message: JSONRPCMessage): void {
    this.#touch();
    if (!('method' in message)) {
      // A response: the transport finds its stream by id.
      const id = 'id' in message ? message.id : undefined;
      if (id !== undefined && this.#inFlight.has(id)) {
        if (!this.#answered) {
          this.#answered = true;
          clearTimeout(this.#initializeTimer);
          this.#hooks.onInitializeAnswered(this, 'result' in message);
        }
        const token = this.#inFlight.get(id);
        this.#inFlight.delete(id);
        if (token !== undefined) this.#progress.delete(token);
        void this.#send(message);
      } else this.#hooks.onDropped(this, 'a response to no request in flight');
      return;
    }
    if (message.method === 'notifications/progress' && !('id' in message)) {
      const related = this.#progress.get((message.params as { progressToken?: string | number } | undefined)?.progressToken ?? '');
      if (related !== undefined && this.#inFlight.has(related)) return void this.#send(message, related);
    }
    this.#route(message);
  }

  #route(message: JSONRPCMessage): void {
    const ids = [...this.#inFlight.keys()];
    if (ids.length === 1) return void this.#send(message, ids[0]);
    if (this.#getStreams > 0) return void this.#send(message);
    if (ids.length > 1) return void this.#send(message, ids[ids.length - 1]);
    if (this.#held.length >= MAX_HELD_MESSAGES) {
      this.#held.shift();
      this.#hooks.onDropped(this, 'too many messages waiting for a stream');
    }
    this.#held.push(message);
  }

  async #send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    try {
      await this.transport.send(message, relatedRequestId === undefined ? undefined : { relatedRequestId });
    } catch (error) {
      // The request's stream is gone (the client left): nothing can carry this message.
      this.#hooks.onDropped(this, (error as Error).message);
    }
  }

  #onProblem(problem: StdoutProblem): void {
    this.#hooks.onStdoutProblem(this, problem);
    if (problem.kind === 'too-long') void this.fail('stdout-refused', `a stdout line of more than ${problem.bytes - 1} bytes`);
  }
}
