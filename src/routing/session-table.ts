/**
 * One server's session table: which endpoint made each session, and which client (proxy/client-
 * identity.ts) opened it, within two bounds: `maxSessions` for the server and
 * `maxSessionsPerClient` for each client on it. When a new session would go past either, one
 * entry makes room, in this order:
 *
 * 1. a client at its share gives up its own oldest entry (`client_share`);
 * 2. else, on a full server, the client holding the most entries gives up its oldest, never a
 *    client holding fewer than the newcomer will (`server_full`), the newcomer itself last;
 * 3. else the new session is refused: it cannot be tracked, and an untracked session would land on
 *    any replica.
 *
 * An entry that is in use (a request of its session in flight, a GET stream included) or whose
 * owner drains is never evicted: so no flood of new sessions breaks a live session, or ends a
 * drain early (a drain waits for its sessions). Each client's entries are kept oldest first in a
 * list; one that a search meets in use or draining is set aside (off the list, still counted) and
 * goes back to the list's tail when its last request ends, so each search is O(1) amortised.
 * Clients are bucketed by how many entries they hold, so the heaviest is found at once.
 *
 * A session whose owner is gone is remembered as ended (bounded by `maxSessions` too), so that
 * mcpmux itself answers 404 for it.
 */
import type { Endpoint } from './endpoint.js';

export type EvictionReason = 'client_share' | 'server_full';

/** Where an entry is: on its client's list of eviction candidates, set aside, or forgotten. */
const LISTED = 0;
const SET_ASIDE = 1;
const GONE = 2;

/** Buckets and clients a full server's search looks at, at most, before it refuses. */
const SEARCH_LIMIT = 64;

/** One remembered session. The proxy holds it (holdSession) from a request's admission to its end. */
export class SessionEntry {
  readonly id: string;
  readonly owner: Endpoint;
  readonly client: ClientShare;
  /** Last request, in ms: for idleTimeoutSeconds. */
  seen: number;
  /** Requests of this session in flight, GET streams included. */
  inUse = 0;
  place: typeof LISTED | typeof SET_ASIDE | typeof GONE = LISTED;
  prev: SessionEntry | undefined = undefined;
  next: SessionEntry | undefined = undefined;

  constructor(id: string, owner: Endpoint, client: ClientShare, seen: number) {
    this.id = id;
    this.owner = owner;
    this.client = client;
    this.seen = seen;
  }
}

/** One client's entries on one server: how many (set-aside ones included), and its list, oldest first. */
export class ClientShare {
  readonly key: string;
  count = 0;
  head: SessionEntry | undefined = undefined;
  tail: SessionEntry | undefined = undefined;

  constructor(key: string) {
    this.key = key;
  }
}

/** A request of this session is admitted to its owner: the entry cannot be evicted until it ends. */
export function holdSession(entry: SessionEntry): void {
  entry.inUse += 1;
}

/** The other half of holdSession(). An entry set aside while in use goes back to its list, as the newest. */
export function releaseSession(entry: SessionEntry): void {
  entry.inUse -= 1;
  if (entry.inUse === 0 && entry.place === SET_ASIDE && !entry.owner.draining) {
    entry.place = LISTED;
    append(entry.client, entry);
  }
}

export interface SessionTableLimits {
  readonly maxSessions: number;
  readonly maxSessionsPerClient: number;
}

export class ServerSessionTable {
  readonly #entries = new Map<string, SessionEntry>();
  readonly #clients = new Map<string, ClientShare>();
  /** Clients by how many entries they hold; `#most` is the largest count held. */
  readonly #byCount = new Map<number, Set<ClientShare>>();
  #most = 0;
  readonly #ended = new Set<string>();
  readonly #limits: SessionTableLimits;
  /** Entries evicted to make room, by reason; new sessions refused because none could be. */
  readonly evicted: Record<EvictionReason, number> = { client_share: 0, server_full: 0 };
  refused = 0;

  constructor(limits: SessionTableLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(session: string): SessionEntry | undefined {
    return this.#entries.get(session);
  }

  hasEnded(session: string): boolean {
    return this.#ended.has(session);
  }

  /** How many entries a client holds. */
  countOf(client: string): number {
    return this.#clients.get(client)?.count ?? 0;
  }

  /**
   * Remembers a new session of `client` on `owner`, evicting one entry if a bound says so; false
   * when none could be evicted: the session is not tracked, and should be refused.
   */
  learn(session: string, owner: Endpoint, client: string, now: number): boolean {
    const known = this.#entries.get(session);
    if (known?.owner === owner) return true;
    // Another process names a session already known: the newer claim wins, under the same bounds.
    if (known) this.#remove(known);
    const share = this.#clients.get(client);
    const held = share?.count ?? 0;
    if (held >= this.#limits.maxSessionsPerClient) {
      if (!this.#evictOldestOf(share!)) return this.#refuse();
      this.evicted.client_share += 1;
    } else if (this.#entries.size >= this.#limits.maxSessions) {
      if (!this.#evictForNewcomer(held + 1, share)) return this.#refuse();
      this.evicted.server_full += 1;
    }
    const owned = share ?? this.#clients.get(client) ?? new ClientShare(client);
    if (owned.count === 0) this.#clients.set(client, owned);
    const entry = new SessionEntry(session, owner, owned, now);
    this.#entries.set(session, entry);
    append(owned, entry);
    this.#recount(owned, owned.count + 1);
    owner.sessions += 1;
    return true;
  }

  forget(session: string): void {
    const entry = this.#entries.get(session);
    if (entry) this.#remove(entry);
  }

  /** Forgets every session of an endpoint that is gone, and remembers them as ended. */
  forgetEndpoint(endpoint: Endpoint): void {
    if (endpoint.sessions === 0) return;
    for (const entry of this.#entries.values()) {
      if (entry.owner !== endpoint) continue;
      this.#remove(entry);
      this.#remember(entry.id);
    }
  }

  /** Forgets the sessions with no request since `oldest` (ms) and none in flight; returns how many. */
  sweep(oldest: number): number {
    let swept = 0;
    for (const entry of this.#entries.values()) {
      if (entry.seen > oldest || entry.inUse > 0) continue;
      this.#remove(entry);
      swept += 1;
    }
    return swept;
  }

  #refuse(): false {
    this.refused += 1;
    return false;
  }

  /**
   * Evicts one entry for a newcomer that will hold `after` entries: from the heaviest client down
   * to those holding `after`, then the newcomer's own. Bounded: past SEARCH_LIMIT steps, refused.
   */
  #evictForNewcomer(after: number, own: ClientShare | undefined): boolean {
    let steps = SEARCH_LIMIT;
    for (let count = this.#most; count >= after && steps > 0; count--) {
      const bucket = this.#byCount.get(count);
      steps -= 1;
      if (bucket === undefined) continue;
      for (const share of bucket) {
        if (this.#evictOldestOf(share)) return true;
        if (--steps <= 0) break;
      }
    }
    return own !== undefined && this.#evictOldestOf(own);
  }

  /** Evicts a client's oldest entry that is neither in use nor on a draining owner; sets aside those it passes. */
  #evictOldestOf(share: ClientShare): boolean {
    for (let entry = share.head; entry !== undefined; entry = share.head) {
      if (entry.inUse === 0 && !entry.owner.draining) {
        this.#remove(entry);
        return true;
      }
      unlink(share, entry);
      entry.place = SET_ASIDE;
    }
    return false;
  }

  #remove(entry: SessionEntry): void {
    this.#entries.delete(entry.id);
    if (entry.place === LISTED) unlink(entry.client, entry);
    entry.place = GONE;
    entry.owner.sessions -= 1;
    const share = entry.client;
    this.#recount(share, share.count - 1);
    if (share.count === 0) this.#clients.delete(share.key);
  }

  /** Moves a client to the bucket of its new count. */
  #recount(share: ClientShare, count: number): void {
    if (share.count > 0) this.#byCount.get(share.count)!.delete(share);
    share.count = count;
    if (count > 0) {
      let bucket = this.#byCount.get(count);
      if (bucket === undefined) this.#byCount.set(count, (bucket = new Set()));
      bucket.add(share);
    }
    if (count > this.#most) this.#most = count;
    while (this.#most > 0 && !this.#byCount.get(this.#most)?.size) this.#most -= 1;
  }

  #remember(session: string): void {
    if (this.#ended.size >= this.#limits.maxSessions) this.#ended.delete(this.#ended.values().next().value!);
    this.#ended.add(session);
  }
}

function append(share: ClientShare, entry: SessionEntry): void {
  entry.prev = share.tail;
  entry.next = undefined;
  if (share.tail) share.tail.next = entry;
  else share.head = entry;
  share.tail = entry;
}

function unlink(share: ClientShare, entry: SessionEntry): void {
  if (entry.prev) entry.prev.next = entry.next;
  else share.head = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
  else share.tail = entry.prev;
  entry.prev = entry.next = undefined;
}
