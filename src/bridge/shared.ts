/**
 * Shared sessions: one stdio process serves every client session. The bridge initializes the
 * process once, as a client with no capabilities, and answers each session's `initialize` with the
 * process's own result. Everything that carries an id is rewritten, so that concurrent sessions
 * never see each other's answers:
 * - a client request gets a fresh id (and a fresh progressToken) on the way in, and its own back
 *   on the way out; `notifications/cancelled` is mapped the same way;
 * - progress goes to the session whose token it carries, on its request's stream;
 * - a log message (`notifications/message`) goes to the one session with requests in flight, as
 *   a server-to-client request does; with none in flight it is the server's own and goes to every
 *   session's GET stream; with several, it cannot be attributed and is dropped, never guessed:
 *   one client's call may log what it was given;
 * - any other notification that belongs to no request (list_changed, resource updates) goes to
 *   every session's GET stream;
 * - a server-to-client request (sampling, elicitation, roots/list) goes to a session only when
 *   exactly one session has requests in flight; otherwise the process gets a JSON-RPC error, never
 *   a guess. Other notifications from clients (roots/list_changed, ...) are not passed on: one
 *   client's roots are not another's.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage, type JSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ClientSession, progressTokenOf, type ClientSessionHooks, type ProgressToken, type SessionEnd } from './client-session.js';
import type { StdioProcess } from './stdio-process.js';

/** The JSON-RPC error a process gets for a request that no one session can be said to have caused. */
export const UNATTRIBUTABLE_CODE = -32603;
const INITIALIZE_ID = 'mcpmux-shared-initialize';

interface Pending {
  readonly session: ClientSession;
  readonly clientId: RequestId;
  readonly token: ProgressToken | undefined;
}

export class SharedRelay {
  readonly process: StdioProcess;
  readonly #sessions = new Set<ClientSession>();
  /** Process-side request id -> the session and its own id. */
  readonly #requests = new Map<number, Pending>();
  /** Process-side progressToken -> the session's request. */
  readonly #tokens = new Map<string, Pending>();
  /** Client-side id of a server-to-client request -> the process's id for it. */
  readonly #serverRequests = new Map<string, { session: ClientSession; processId: RequestId }>();
  readonly #onDropped: (why: string) => void;
  #nextId = 1;
  #initializeResult: Record<string, unknown> | undefined;
  #initialized: Promise<void> | undefined;

  constructor(process: StdioProcess, onDropped: (why: string) => void) {
    this.process = process;
    this.#onDropped = onDropped;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** Initializes the process once; rejects with why it did not answer. */
  initialize(timeoutMs: number): Promise<void> {
    this.#initialized ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to initialize in ${timeoutMs / 1000} s`)), timeoutMs);
      void this.process.exited.then((exit) => reject(new Error(exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`)));
      this.process.attach({
        onMessage: (message, bytes) => {
          if (this.#initializeResult || !('id' in message) || message.id !== INITIALIZE_ID) return this.#fromProcess(message, bytes);
          clearTimeout(timer);
          if (!('result' in message)) return reject(new Error(`initialize returned an error: ${JSON.stringify((message as { error?: unknown }).error)}`));
          this.#initializeResult = message.result;
          this.process.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
          resolve();
        },
        onStdoutProblem: () => undefined,
      });
      this.process.send({
        jsonrpc: '2.0',
        id: INITIALIZE_ID,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux-bridge', version: '1.0.0' } },
      });
    });
    return this.#initialized;
  }

  /** A new client session on the shared process. */
  attach(transport: StreamableHTTPServerTransport, hooks: Omit<ClientSessionHooks, 'onClientMessage'>): ClientSession {
    const session: ClientSession = new ClientSession(transport, {
      ...hooks,
      onClientMessage: (message) => this.#fromClient(session, message),
      onEnded: (reason, detail) => {
        this.#forget(session);
        hooks.onEnded(reason, detail);
      },
    });
    this.#sessions.add(session);
    return session;
  }

  /** The process is gone: every session's requests in flight get an error, then every session ends. */
  async fail(reason: SessionEnd, detail: string): Promise<void> {
    const message = `the server's shared process ended (${detail}); start a new session`;
    await Promise.all([...this.#sessions].map(async (session) => {
      await session.failInFlight(message);
      await session.end(reason, detail);
    }));
  }

  #fromClient(session: ClientSession, message: JSONRPCMessage): void {
    if ('method' in message && 'id' in message) {
      if (message.method === 'initialize') {
        session.respond({ jsonrpc: '2.0', id: message.id, result: this.#initializeResult ?? {} });
        return;
      }
      const id = this.#nextId++;
      const token = progressTokenOf(message);
      const pending = { session, clientId: message.id, token };
      this.#requests.set(id, pending);
      const params = token === undefined ? message.params : { ...message.params, _meta: { ...message.params?._meta, progressToken: `mcpmux-${id}` } };
      if (token !== undefined) this.#tokens.set(`mcpmux-${id}`, pending);
      this.process.send({ ...message, id, ...(params && { params }) } as JSONRPCRequest);
      return;
    }
    if ('method' in message) {
      if (message.method !== 'notifications/cancelled') return; // initialized, roots/list_changed, ...: not passed on
      const clientId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const id = this.#processIdOf(session, clientId);
      if (id !== undefined) this.process.send({ ...message, params: { ...message.params, requestId: id } });
      return;
    }
    // The client's answer to a server-to-client request.
    const key = 'id' in message ? keyOf(session, message.id as RequestId) : '';
    const request = this.#serverRequests.get(key);
    if (!request) return this.#onDropped('a response to no request of the server');
    this.#serverRequests.delete(key);
    this.process.send({ ...message, id: request.processId } as JSONRPCMessage);
  }

  #fromProcess(message: JSONRPCMessage, bytes: number): void {
    if (!('method' in message)) {
      const id = 'id' in message ? message.id : undefined;
      const pending = typeof id === 'number' ? this.#requests.get(id) : undefined;
      if (!pending) return this.#onDropped('a response to no request in flight');
      this.#requests.delete(id as number);
      if (pending.token !== undefined) this.#tokens.delete(`mcpmux-${id}`);
      if (!pending.session.ended) pending.session.respond({ ...message, id: pending.clientId } as JSONRPCMessage & { id: RequestId }, bytes);
      return;
    }
    if ('id' in message) return this.#serverRequest(message as JSONRPCRequest);
    if (message.method === 'notifications/progress') {
      const token = String((message.params as { progressToken?: ProgressToken } | undefined)?.progressToken);
      const pending = this.#tokens.get(token);
      if (pending && !pending.session.ended) pending.session.deliver({ ...message, params: { ...message.params, progressToken: pending.token } } as JSONRPCMessage, bytes);
      return;
    }
    if (message.method === 'notifications/cancelled') return; // of a server-to-client request: nothing to map it to
    if (message.method === 'notifications/message') {
      const busy = this.#busySessions();
      if (busy.size === 1) return [...busy][0]!.deliver(message, bytes);
      if (busy.size > 1) return this.#onDropped(`a log message while ${busy.size} sessions have requests in flight: it cannot be attributed to one`);
    }
    for (const session of this.#sessions) session.broadcast(message, bytes);
  }

  /** The sessions with requests in flight at the process. */
  #busySessions(): Set<ClientSession> {
    const busy = new Set<ClientSession>();
    for (const pending of this.#requests.values()) busy.add(pending.session);
    return busy;
  }

  #serverRequest(request: JSONRPCRequest): void {
    const busy = this.#busySessions();
    const [session] = busy;
    if (busy.size !== 1 || !session) {
      this.process.send({
        jsonrpc: '2.0',
        id: request.id,
        error: { code: UNATTRIBUTABLE_CODE, message: `mcpmux shared sessions: ${request.method} cannot be attributed to one client session (${busy.size} have requests in flight)` },
      });
      return;
    }
    const clientId = `mcpmux-${this.#nextId++}`;
    this.#serverRequests.set(keyOf(session, clientId), { session, processId: request.id });
    session.deliver({ ...request, id: clientId });
  }

  #processIdOf(session: ClientSession, clientId: RequestId | undefined): number | undefined {
    for (const [id, pending] of this.#requests) if (pending.session === session && pending.clientId === clientId) return id;
    return undefined;
  }

  /** A session ended: its requests in flight are cancelled at the process, and forgotten. */
  #forget(session: ClientSession): void {
    this.#sessions.delete(session);
    for (const [id, pending] of this.#requests) {
      if (pending.session !== session) continue;
      this.#requests.delete(id);
      if (pending.token !== undefined) this.#tokens.delete(`mcpmux-${id}`);
      this.process.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the client session ended' } });
    }
    for (const [key, request] of this.#serverRequests) if (request.session === session) this.#serverRequests.delete(key);
  }
}

function keyOf(session: ClientSession, id: RequestId): string {
  return `${session.id}\u0000${String(id)}`;
}
