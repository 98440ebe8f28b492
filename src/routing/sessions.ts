/**
 * Session affinity: which endpoint created each MCP session (`Mcp-Session-Id`), so that every later
 * request of the session reaches that process: among replicas, and while it drains. Learnt from the
 * answer that names a new session; forgotten on DELETE, on a 404 from the owner, when the owner is
 * gone, and after `idleTimeoutSeconds` without a request (none in flight).
 *
 * Each server has its own table (session-table.ts), bounded for the server and for each client on
 * it, so that no client can flush another's sessions, nor another server's: past a bound, the
 * client's own or the heaviest client's oldest idle entry makes room, and when none can (every
 * entry in use or on a draining process), the new session is refused.
 */
import type { Endpoint } from './endpoint.js';
import { ServerSessionTable, type EvictionReason, type SessionEntry } from './session-table.js';

export { holdSession, releaseSession, type EvictionReason, type SessionEntry } from './session-table.js';

export interface AffinityLimits {
  /** Sessions remembered at most per server: ~150 bytes each (and as many ended ones, ~100 bytes each). */
  readonly maxSessions: number;
  /** Sessions one client (proxy/client-identity.ts) may have remembered on one server. */
  readonly maxSessionsPerClient: number;
  /** A session with no request for this long is forgotten. */
  readonly idleTimeoutSeconds: number;
}

export const DEFAULT_AFFINITY: AffinityLimits = { maxSessions: 10_000, maxSessionsPerClient: 1000, idleTimeoutSeconds: 3600 };

/** What the metrics read of one server's table. */
export interface SessionTableStats {
  readonly server: string;
  readonly tracked: number;
  readonly evicted: Readonly<Record<EvictionReason, number>>;
  readonly refused: number;
}

export class SessionAffinity {
  readonly #tables = new Map<string, ServerSessionTable>();
  readonly #limits: AffinityLimits;
  readonly #now: () => number;

  constructor(limits: AffinityLimits = DEFAULT_AFFINITY, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Sessions remembered, all servers together. */
  get size(): number {
    let size = 0;
    for (const table of this.#tables.values()) size += table.size;
    return size;
  }

  /** A server's session, if known; a lookup counts as activity. */
  find(server: string, session: string): SessionEntry | undefined {
    const entry = this.#tables.get(server)?.get(session);
    if (entry) entry.seen = this.#now();
    return entry;
  }

  /** True for a session whose process is gone: mcpmux answers 404 for it. */
  hasEnded(server: string, session: string): boolean {
    return this.#tables.get(server)?.hasEnded(session) ?? false;
  }

  /** Remembers a new session of `client` on its owner's server; false when it cannot be tracked (refuse it). */
  learn(session: string, owner: Endpoint, client: string): boolean {
    let table = this.#tables.get(owner.server);
    if (!table) this.#tables.set(owner.server, (table = new ServerSessionTable(this.#limits)));
    return table.learn(session, owner, client, this.#now());
  }

  forget(server: string, session: string): void {
    this.#tables.get(server)?.forget(session);
  }

  /** Forgets every session of an endpoint that is gone, and remembers them as ended. */
  forgetEndpoint(endpoint: Endpoint): void {
    this.#tables.get(endpoint.server)?.forgetEndpoint(endpoint);
  }

  /** A server that is no longer configured: its table goes (forget its endpoints first). */
  removeServer(server: string): void {
    this.#tables.delete(server);
  }

  /** Forgets the sessions idle past idleTimeoutSeconds (none in flight); returns how many. */
  sweep(): number {
    const oldest = this.#now() - this.#limits.idleTimeoutSeconds * 1000;
    let swept = 0;
    for (const table of this.#tables.values()) swept += table.sweep(oldest);
    return swept;
  }

  /** Each server's table, for the metrics. */
  stats(): SessionTableStats[] {
    return [...this.#tables].map(([server, table]) => ({ server, tracked: table.size, evicted: { ...table.evicted }, refused: table.refused }));
  }
}
