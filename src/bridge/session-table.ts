/**
 * The bridge's open sessions by `Mcp-Session-Id`, with the counts /status gives: the cap, the
 * eviction of the idlest session at the cap, the reaping of idle ones, and the log of each
 * session's start and end.
 */
import type { Logger } from 'pino';
import type { SessionEnd } from './client-session.js';
import type { BridgedSession } from './modes.js';

/** At maxSessions, a session quiet this long may be ended to admit a new one. */
const EVICTABLE_AFTER_MS = 1000;

const FAILURES: ReadonlySet<SessionEnd> = new Set(['process-exited', 'stdout-refused', 'initialize-timeout']);

export class SessionTable {
  readonly #sessions = new Map<string, BridgedSession>();
  readonly #maxSessions: number;
  readonly #log: Logger;
  readonly #ended: Partial<Record<SessionEnd, number>> = {};
  #opening = 0;
  #opened = 0;
  #refused = 0;

  constructor(maxSessions: number, log: Logger) {
    this.#maxSessions = maxSessions;
    this.#log = log;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): BridgedSession | undefined {
    return this.#sessions.get(id);
  }

  has(session: BridgedSession): boolean {
    return session.client.id !== undefined && this.#sessions.get(session.client.id) === session;
  }

  values(): IterableIterator<BridgedSession> {
    return this.#sessions.values();
  }

  /**
   * Room for one more session. At the cap, the session idle longest (no request in flight, no open
   * stream, quiet for EVICTABLE_AFTER_MS) is ended to make it: most clients never send DELETE, and
   * their sessions would hold the cap until the idle timeout. With none idle, false (a refusal).
   */
  makeRoom(): boolean {
    if (this.#sessions.size + this.#opening < this.#maxSessions) return true;
    let idlest: BridgedSession | undefined;
    for (const session of this.#sessions.values()) {
      if (session.client.isIdle(EVICTABLE_AFTER_MS) && (!idlest || session.client.lastActive < idlest.client.lastActive)) idlest = session;
    }
    if (!idlest) {
      this.#refused += 1;
      return false;
    }
    this.#sessions.delete(idlest.client.id!);
    void idlest.end('evicted');
    return true;
  }

  /** Counts a session being opened against the cap until `done`. */
  async opening<T>(open: () => Promise<T>): Promise<T> {
    this.#opening += 1;
    try {
      return await open();
    } finally {
      this.#opening -= 1;
    }
  }

  add(id: string, session: BridgedSession): void {
    this.#sessions.set(id, session);
    this.#opened += 1;
    this.#log.info({ session: id, pid: session.pid }, 'session opened');
  }

  /** A session ended, for whatever reason: out of the table, counted, logged (a failure with its stderr tail). */
  readonly onEnded = (session: BridgedSession, reason: SessionEnd, detail?: string): void => {
    if (session.client.id && this.#sessions.get(session.client.id) === session) this.#sessions.delete(session.client.id);
    this.#ended[reason] = (this.#ended[reason] ?? 0) + 1;
    const record = { session: session.client.id, pid: session.pid, reason, detail };
    if (FAILURES.has(reason)) this.#log.warn({ ...record, stderrTail: session.stderrTail() }, 'session failed');
    else this.#log.info(record, 'session ended');
  };

  /** Ends every session idle for `idleMs`. */
  reap(idleMs: number): void {
    for (const session of this.#sessions.values()) if (session.client.isIdle(idleMs)) void session.end('idle');
  }

  counts(): { sessionsOpened: number; sessionsEnded: Partial<Record<SessionEnd, number>>; sessionsRefused: number } {
    return { sessionsOpened: this.#opened, sessionsEnded: { ...this.#ended }, sessionsRefused: this.#refused };
  }
}
