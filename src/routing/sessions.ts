/**
 * Session affinity: which endpoint created each MCP session (`Mcp-Session-Id`), so that every later
 * request of the session reaches that process: among replicas, and while it drains. Learnt from the
 * answer that names a new session; forgotten on DELETE, on a 404 from the owner, when the owner is
 * gone, and after `idleTimeoutSeconds` without a request. Bounded: past `maxSessions`, the session
 * learnt longest ago is forgotten (its next request goes to any replica, which answers 404, and the
 * client starts a new session, as the spec has it).
 *
 * A session whose owner is gone is remembered as ended (bounded too), so that mcpmux itself answers
 * 404 for it at once, whichever replica would have been picked.
 */
import type { Endpoint } from './endpoint.js';

export interface AffinityLimits {
  /** Sessions remembered at most, all servers together: ~150 bytes each. */
  readonly maxSessions: number;
  /** A session with no request for this long is forgotten. */
  readonly idleTimeoutSeconds: number;
}

export const DEFAULT_AFFINITY: AffinityLimits = { maxSessions: 100_000, idleTimeoutSeconds: 3600 };

interface Entry {
  readonly owner: Endpoint;
  seen: number;
}

export class SessionAffinity {
  readonly #owners = new Map<string, Entry>();
  readonly #ended = new Set<string>();
  readonly #limits: AffinityLimits;
  readonly #now: () => number;

  constructor(limits: AffinityLimits = DEFAULT_AFFINITY, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  get size(): number {
    return this.#owners.size;
  }

  /** The endpoint that owns this session, if known; a lookup counts as activity. */
  ownerOf(session: string): Endpoint | undefined {
    const entry = this.#owners.get(session);
    if (!entry) return undefined;
    entry.seen = this.#now();
    return entry.owner;
  }

  /** True for a session whose process is gone: mcpmux answers 404 for it. */
  hasEnded(session: string): boolean {
    return this.#ended.has(session);
  }

  learn(session: string, owner: Endpoint): void {
    const known = this.#owners.get(session);
    if (known?.owner === owner) return;
    if (known) known.owner.sessions -= 1;
    else if (this.#owners.size >= this.#limits.maxSessions) this.#evictOldest();
    this.#owners.set(session, { owner, seen: this.#now() });
    owner.sessions += 1;
  }

  forget(session: string): void {
    const entry = this.#owners.get(session);
    if (!entry) return;
    entry.owner.sessions -= 1;
    this.#owners.delete(session);
  }

  /** Forgets every session of an endpoint that is gone, and remembers them as ended. */
  forgetEndpoint(endpoint: Endpoint): void {
    if (endpoint.sessions === 0) return;
    for (const [session, entry] of this.#owners) {
      if (entry.owner !== endpoint) continue;
      this.#owners.delete(session);
      this.#remember(session);
    }
    endpoint.sessions = 0;
  }

  /** Forgets the sessions idle past idleTimeoutSeconds; returns how many. */
  sweep(): number {
    const oldest = this.#now() - this.#limits.idleTimeoutSeconds * 1000;
    let swept = 0;
    for (const [session, entry] of this.#owners) {
      if (entry.seen > oldest) continue;
      this.forget(session);
      swept += 1;
    }
    return swept;
  }

  #remember(session: string): void {
    if (this.#ended.size >= this.#limits.maxSessions) this.#ended.delete(this.#ended.values().next().value!);
    this.#ended.add(session);
  }

  #evictOldest(): void {
    const oldest = this.#owners.keys().next();
    if (!oldest.done) this.forget(oldest.value);
  }
}
