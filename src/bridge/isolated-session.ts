/**
 * An isolated session: one client session, one stdio process of its own, for its whole life.
 * The client's messages go to the process as they are (ids never collide: nobody else talks to
 * it); the process's go back through the client session's choice of stream. The process's exit
 * fails the session: each request in flight gets an error, then the session ends (404 after).
 * Backpressure: while the session's client is not keeping up (client-session.ts), the process's
 * stdout is not read, so it waits on its own pipe; what it wrote for nobody counts against its
 * budget of such lines (stdio-process.ts).
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ClientSession, type SessionEnd } from './client-session.js';
import type { MessageSpans } from '../tracing/message-spans.js';
import type { StdioProcess, StdoutProblem } from './stdio-process.js';

export interface IsolatedSessionHooks {
  readonly onEnded: (session: IsolatedSession, reason: SessionEnd, detail?: string) => void;
  readonly onDropped: (session: IsolatedSession, why: string) => void;
  readonly onStdoutProblem: (session: IsolatedSession, problem: StdoutProblem) => void;
  /** The session's client stopped keeping up (its process now waits), or caught up. */
  readonly onCongestion: (session: IsolatedSession, congested: boolean) => void;
  /** The process answered the session's first request (initialize) with a result, or did not answer. */
  readonly onInitializeAnswered: (session: IsolatedSession, ok: boolean) => void;
}

export class IsolatedSession {
  readonly client: ClientSession;
  readonly process: StdioProcess;
  readonly #hooks: IsolatedSessionHooks;
  readonly #initializeTimer: NodeJS.Timeout;
  #answered = false;

  constructor(transport: StreamableHTTPServerTransport, process: StdioProcess, hooks: IsolatedSessionHooks, options: { initializeTimeoutMs: number; spans?: MessageSpans | undefined }) {
    this.process = process;
    this.#hooks = hooks;
    this.client = new ClientSession(transport, {
      spans: options.spans,
      onClientMessage: (message) => process.send(message),
      onEnded: (reason, detail) => {
        clearTimeout(this.#initializeTimer);
        hooks.onEnded(this, reason, detail);
        void process.stop();
      },
      onDropped: (why) => {
        process.wasted();
        hooks.onDropped(this, why);
      },
      onCongestion: (congested) => {
        hooks.onCongestion(this, congested);
        if (congested) process.holdOutput();
        else process.releaseOutput();
      },
    });
    process.attach({ onMessage: (message, bytes) => this.#fromProcess(message, bytes), onStdoutProblem: (problem) => this.#onProblem(problem) });
    this.#initializeTimer = setTimeout(() => {
      if (!this.#answered) void this.fail('initialize-timeout', `no answer to initialize in ${options.initializeTimeoutMs / 1000} s`);
    }, options.initializeTimeoutMs).unref();
    void process.exited.then((exit) => {
      if (!this.client.ended) void this.fail('process-exited', exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`);
    });
  }

  get id(): string | undefined {
    return this.client.id;
  }

  /** The process failed: each request in flight gets an error, then the session ends. */
  async fail(reason: SessionEnd, detail: string): Promise<void> {
    if (this.client.ended) return;
    this.#answer(false);
    const what = reason === 'stdout-refused' ? 'wrote a message over the size limit' : reason === 'initialize-timeout' ? 'did not answer' : 'ended';
    await this.client.failInFlight(`the server's process for this session ${what} (${detail}); start a new session`);
    await this.end(reason, detail);
  }

  /** Ends the session and stops its process; resolves once the process is gone. */
  async end(reason: SessionEnd, detail?: string): Promise<void> {
    await this.client.end(reason, detail);
    await this.process.stop();
  }

  #fromProcess(message: JSONRPCMessage, bytes: number): void {
    if ('method' in message) return this.client.deliver(message, bytes);
    if ('id' in message && message.id !== undefined && this.client.respond(message as JSONRPCMessage & { id: string | number }, bytes)) {
      this.#answer('result' in message);
    } else {
      this.process.wasted();
      this.#hooks.onDropped(this, 'a response to no request in flight');
    }
  }

  #answer(ok: boolean): void {
    if (this.#answered) return;
    this.#answered = true;
    clearTimeout(this.#initializeTimer);
    this.#hooks.onInitializeAnswered(this, ok);
  }

  #onProblem(problem: StdoutProblem): void {
    this.#hooks.onStdoutProblem(this, problem);
    if (problem.kind === 'too-long') void this.fail('stdout-refused', `a stdout line of more than ${problem.bytes - 1} bytes`);
  }
}
