/**
 * The bridge's open sessions by `Mcp-Session-Id`, who holds each, and the counts /status gives.
 * It decides who gets a session slot (admit):
 * - a client may open sessions only so fast (client-rates.ts): a session costs a process;
 * - a client holds at most `maxSessionsPerClient`; at it, its own idlest session makes room;
 * - at `maxSessions`, a slot is freed by the fair-share rule (fair-share.ts): the client holding
 *   the most gives one up, never a client under its share;
 * and it reaps idle sessions, and logs each session's start and end.
 */
import type { Logger } from 'pino';
import type { RefusalReason } from '../answers.js';
import type { SessionEnd } from './client-session.js';
import { ClientRates, type SessionRate } from './client-rates.js';
import { pickOwnIdle, pickVictim, type Holder } from './fair-share.js';
import type { BridgedSession } from './modes.js';

const FAILURES: ReadonlySet<SessionEnd> = new Set(['process-exited', 'stdout-refused', 'initialize-timeout']);

export interface SessionLimits {
  readonly maxSessions: number;
  readonly maxSessionsPerClient: number;
  readonly sessionRate: SessionRate;
}

export type RefusedSession = 'rate_limited' | 'client_sessions_full' | 'sessions_full';

export type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: RefusedSession & RefusalReason; readonly message: string; readonly retryAfterSeconds: number };

/** What an evicted session's requests in flight are told. */
const EVICTED_MESSAGE = "this session was ended to give its slot to another client (the server's sessions are shared fairly between clients); start a new session";

/** A session and the client that holds it, as the fair-share rule sees it. */
class Entry {
  readonly session: BridgedSession;
  readonly client: string;

  constructor(session: BridgedSession, client: string) {
    this.session = session;
    this.client = client;
  }

  get inFlight(): number {
    return this.session.client.inFlight;
  }

  get lastActive(): number {
    return this.session.client.lastActive;
  }
}

interface Share {
  readonly entries: Set<Entry>;
  /** Sessions being opened for this client: counted against its share until they are in. */
  opening: number;
}

export class SessionTable {
  readonly #sessions = new Map<string, Entry>();
  readonly #entries = new Map<BridgedSession, Entry>();
  readonly #shares = new Map<string, Share>();
  readonly #limits: SessionLimits;
  readonly #rates: ClientRates;
  readonly #log: Logger;
  readonly #ended: Partial<Record<SessionEnd, number>> = {};
  readonly #refused: Partial<Record<RefusedSession, number>> = {};
  #opening = 0;
  #opened = 0;

  constructor(limits: SessionLimits, log: Logger, now: () => number = Date.now) {
    this.#limits = limits;
    this.#rates = new ClientRates(limits.sessionRate, now);
    this.#log = log;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): BridgedSession | undefined {
    return this.#sessions.get(id)?.session;
  }

  has(session: BridgedSession): boolean {
    return session.client.id !== undefined && this.#sessions.get(session.client.id)?.session === session;
  }

  *values(): IterableIterator<BridgedSession> {
    for (const entry of this.#sessions.values()) yield entry.session;
  }

  /**
   * May `client` open a session now? Counts the attempt against its rate, then makes room: at its
   * own cap, by ending its own idlest session; at the server's cap, by the fair-share rule. A
   * session ended to make room is taken out of the table at once (its end follows).
   */
  admit(client: string): Admission {
    const wait = this.#rates.take(client);
    if (wait > 0) return this.#refuse('rate_limited', `this client is opening sessions faster than ${this.#limits.sessionRate.perSecond} a second (burst ${this.#limits.sessionRate.burst}); retry later`, wait);
    const share = this.#shares.get(client);
    const held = share ? share.entries.size + share.opening : 0;
    // A cap of its own below the server's (at the server's, the server's rule below covers it).
    if (held >= this.#limits.maxSessionsPerClient && this.#limits.maxSessionsPerClient < this.#limits.maxSessions) {
      const own = share ? pickOwnIdle(share.entries) : undefined;
      if (!own) return this.#refuse('client_sessions_full', `this client holds ${held} sessions of this server, its maximum, each with a request in flight; end one (DELETE) or retry later`);
      this.#evict(own, client, 'client cap');
      return { ok: true };
    }
    if (this.#sessions.size + this.#opening < this.#limits.maxSessions) return { ok: true };
    const victim = pickVictim([...this.#holders()], client, held, this.#limits.maxSessions);
    if (!victim) return this.#refuse('sessions_full', `this server has ${this.#limits.maxSessions} sessions open, its maximum, and none can fairly be ended for this client; retry later`);
    this.#evict(victim, client, 'fair share');
    return { ok: true };
  }

  /** Counts a session being opened for `client` against the caps until `open` settles. */
  async opening<T>(client: string, open: () => Promise<T>): Promise<T> {
    this.#opening += 1;
    this.#shareOf(client).opening += 1;
    try {
      return await open();
    } finally {
      this.#opening -= 1;
      const share = this.#shares.get(client)!;
      share.opening -= 1;
      this.#dropIfEmpty(client, share);
    }
  }

  add(id: string, session: BridgedSession, client: string): void {
    const entry = new Entry(session, client);
    this.#sessions.set(id, entry);
    this.#entries.set(session, entry);
    this.#shareOf(client).entries.add(entry);
    this.#opened += 1;
    this.#log.info({ session: id, pid: session.pid, client }, 'session opened');
  }

  /** A session ended, for whatever reason: out of the table, counted, logged (a failure with its stderr tail). */
  readonly onEnded = (session: BridgedSession, reason: SessionEnd, detail?: string): void => {
    const entry = this.#entries.get(session);
    if (entry) this.#remove(entry);
    this.#ended[reason] = (this.#ended[reason] ?? 0) + 1;
    const record = { session: session.client.id, pid: session.pid, reason, detail };
    if (FAILURES.has(reason)) this.#log.warn({ ...record, stderrTail: session.stderrTail() }, 'session failed');
    else this.#log.info(record, 'session ended');
  };

  /** Ends every session idle for `idleMs` (no request in flight, no open stream). */
  reap(idleMs: number): void {
    for (const { session } of this.#sessions.values()) if (session.client.isIdle(idleMs)) void session.end('idle');
  }

  counts(): { sessionsOpened: number; sessionsEnded: Partial<Record<SessionEnd, number>>; sessionsRefused: number; sessionsRefusedBy: Partial<Record<RefusedSession, number>>; clients: number } {
    const refused = Object.values(this.#refused).reduce((sum, n) => sum + n, 0);
    return { sessionsOpened: this.#opened, sessionsEnded: { ...this.#ended }, sessionsRefused: refused, sessionsRefusedBy: { ...this.#refused }, clients: this.#shares.size };
  }

  *#holders(): IterableIterator<Holder<Entry>> {
    for (const [client, share] of this.#shares) yield { client, count: share.entries.size + share.opening, sessions: share.entries };
  }

  #evict(entry: Entry, newcomer: string, rule: string): void {
    this.#remove(entry);
    this.#log.info({ session: entry.session.client.id, pid: entry.session.pid, client: entry.client, inFlight: entry.inFlight, for: newcomer, rule }, 'session evicted to make room');
    void entry.session.evict(EVICTED_MESSAGE);
  }

  #remove(entry: Entry): void {
    const id = entry.session.client.id;
    if (id !== undefined && this.#sessions.get(id) === entry) this.#sessions.delete(id);
    this.#entries.delete(entry.session);
    const share = this.#shares.get(entry.client);
    if (!share) return;
    share.entries.delete(entry);
    this.#dropIfEmpty(entry.client, share);
  }

  #shareOf(client: string): Share {
    let share = this.#shares.get(client);
    if (!share) this.#shares.set(client, (share = { entries: new Set(), opening: 0 }));
    return share;
  }

  #dropIfEmpty(client: string, share: Share): void {
    if (share.entries.size === 0 && share.opening === 0) this.#shares.delete(client);
  }

  #refuse(reason: RefusedSession, message: string, retryAfterSeconds = 1): Admission {
    this.#refused[reason] = (this.#refused[reason] ?? 0) + 1;
    return { ok: false, reason, message, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) };
  }
}
