/**
 * The two ways a bridge gives sessions their process. `isolated`: a process per session, taken
 * from the warm pool, with readiness from a canary and from sessions' own initialize. `shared`:
 * one process for every session, initialized once by the bridge (shared.ts); when it ends, every
 * session fails and the bridge exits, so that mcpmux restarts both with its backoff.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import type { MessageSpans } from '../tracing/message-spans.js';
import { runCanary } from './canary.js';
import { MAX_QUEUED_BYTES, type ClientSession, type SessionEnd } from './client-session.js';
import { IsolatedSession } from './isolated-session.js';
import { Readiness } from './readiness.js';
import { SharedRelay } from './shared.js';
import type { StdioProcess, StdoutProblem } from './stdio-process.js';
import { WarmPool } from './warm-pool.js';

/** A session as the HTTP side sees it, in either mode. */
export interface BridgedSession {
  readonly client: ClientSession;
  readonly pid: number;
  /** The last lines its process wrote on stderr. */
  stderrTail(): string[];
  end(reason: SessionEnd): Promise<void>;
  /** Ends it to give its slot to another client: its requests in flight get `sessions_full` with this message first. */
  evict(message: string): Promise<void>;
}

export interface SessionMode {
  readonly ready: boolean;
  readonly reason: string;
  /** Live processes: sessions' and warm ones. */
  pids(): number[];
  warmProcesses(): number;
  start(): void;
  /** A session for a new transport. Throws when no process can be had. */
  open(transport: StreamableHTTPServerTransport, onEnded: (session: BridgedSession, reason: SessionEnd, detail?: string) => void): Promise<BridgedSession>;
  /** Stops the processes the mode holds itself (warm ones, the shared one). */
  stop(): Promise<void>;
}

export interface ModeContext {
  readonly log: Logger;
  readonly startProcess: () => Promise<StdioProcess>;
  readonly logProblem: (pid: number, problem: StdoutProblem, session?: string) => void;
  readonly warmProcesses: number;
  readonly initializeTimeoutMs: number;
  /** The bridge cannot go on (shared: its process ended). */
  readonly onFatal: (reason: string) => void;
  /** With tracing on: a new session's spans. */
  readonly spans?: (() => MessageSpans) | undefined;
}

export function createIsolatedMode(context: ModeContext): SessionMode {
  const { log } = context;
  const readiness = new Readiness(
    () => runCanary(context.startProcess, context.initializeTimeoutMs),
    {
      onChange: (ready, reason) => (ready ? log.info({ reason }, 'ready') : log.warn({ reason }, 'not ready')),
      onCanaryFailed: (reason) => log.warn({ reason }, 'readiness canary failed: retrying with backoff'),
    },
  );
  const pool = new WarmPool(context.warmProcesses, context.startProcess, {
    onWarmExit: (pid, exit) => log.warn({ pid, code: exit.code, signal: exit.signal }, 'warm process exited before a session took it'),
    onStartFailed: (error) => log.error({ err: error }, 'a warm process could not be started'),
  });
  const live = new Set<IsolatedSession>();
  return {
    get ready() {
      return readiness.ready;
    },
    get reason() {
      return readiness.reason;
    },
    pids: () => [...[...live].map((s) => s.process.pid), ...pool.pids],
    warmProcesses: () => pool.size,
    start() {
      readiness.start();
      pool.fill();
    },
    async open(transport, onEnded) {
      const process = await pool.take();
      const session: IsolatedSession = new IsolatedSession(transport, process, {
        onEnded: (s, reason, detail) => {
          live.delete(s);
          onEnded(bridged, reason, detail);
        },
        onDropped: (s, why) => log.debug({ session: s.id, why }, 'message dropped'),
        onStdoutProblem: (s, problem) => context.logProblem(s.process.pid, problem, s.id),
        onCongestion: (s, congested) =>
          log.debug({ session: s.id, pid: s.process.pid, queuedBytes: s.client.queuedBytes }, congested ? "session congested: its client is not keeping up; its process's stdout waits" : 'session caught up: its stdout is read again'),
        onInitializeAnswered: (s, ok) => readiness.report(ok, ok ? 'a process answered initialize' : `a session's process did not answer initialize (pid ${s.process.pid})`),
      }, { initializeTimeoutMs: context.initializeTimeoutMs, spans: context.spans?.() });
      live.add(session);
      const bridged: BridgedSession = {
        client: session.client,
        pid: process.pid,
        stderrTail: () => process.stderrTail(),
        end: (reason) => session.end(reason),
        evict: (message) => evictSession(session.client, () => session.end('evicted'), message),
      };
      return bridged;
    },
    async stop() {
      readiness.stop();
      await pool.stop();
    },
  };
}

export function createSharedMode(context: ModeContext): SessionMode {
  const { log } = context;
  let relay: SharedRelay | undefined;
  let ready = false;
  let reason = 'the shared process has not answered initialize yet';
  let stopped = false;
  return {
    get ready() {
      return ready;
    },
    get reason() {
      return reason;
    },
    pids: () => (relay ? [relay.process.pid] : []),
    warmProcesses: () => 0,
    start() {
      void (async () => {
        try {
          const process = await context.startProcess();
          relay = new SharedRelay(process, (why) => {
            process.wasted();
            log.debug({ why }, 'message dropped');
          });
          void process.exited.then(async (exit) => {
            const detail = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
            ready = false;
            reason = `the shared process ${detail}`;
            await relay?.fail('process-exited', detail);
            if (!stopped) context.onFatal(`the shared process ${detail}`);
          });
          await relay.initialize(context.initializeTimeoutMs);
          ready = true;
          reason = 'the shared process answered initialize';
          log.info({ pid: process.pid, reason }, 'ready');
        } catch (error) {
          if (!stopped) context.onFatal(`the shared process did not start: ${(error as Error).message}`);
        }
      })();
    },
    async open(transport, onEnded) {
      if (!relay || !ready) throw new Error(reason);
      const current = relay;
      const client = current.attach(transport, {
        spans: context.spans?.(),
        onEnded: (why, detail) => onEnded(bridged, why, detail),
        onDropped: (why) => {
          current.process.wasted();
          log.debug({ session: client.id, why }, 'message dropped');
        },
        // One process serves every session: a client that does not read its stream loses its session, not the others their answers.
        onOverflow: () => void client.end('backlogged', `its client left more than ${MAX_QUEUED_BYTES} bytes unread`),
      });
      const bridged: BridgedSession = {
        client,
        pid: current.process.pid,
        stderrTail: () => current.process.stderrTail(),
        end: (why) => client.end(why),
        evict: (message) => evictSession(client, () => client.end('evicted'), message),
      };
      return bridged;
    },
    async stop() {
      stopped = true;
      await relay?.process.stop();
    },
  };
}

/** A session gives its slot up: its requests in flight are told why (`sessions_full`), then it ends. */
async function evictSession(client: ClientSession, end: () => Promise<void>, message: string): Promise<void> {
  await client.failInFlight(message, 'sessions_full');
  await end();
}
