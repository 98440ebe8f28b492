/**
 * Which session gives up its slot when a stdio server is full, so that no client can lock others
 * out or evict them: the client holding the most gives one up first, and never a client at or
 * under its share. A client's share is the server's slots divided among the clients holding
 * sessions, the newcomer included. Pure: it reads each session's work in flight and when it was
 * last active.
 *
 * For a newcomer holding n sessions, in this order:
 * 1. an idle session (no request in flight; an open GET stream does not count) of a client over
 *    its share and holding at least n + 1, so that after the move it holds no fewer than the newcomer;
 * 2. an idle session of the newcomer's own;
 * 3. a busy session of a client over its share and holding at least n + 2: its requests in
 *    flight get an error.
 * Within a step, the client holding the most goes first, then the session quiet longest.
 * Nothing found: the newcomer is refused.
 */

export interface SessionView {
  /** Requests in flight. */
  readonly inFlight: number;
  /** When anything last happened on it (ms). */
  readonly lastActive: number;
}

export interface Holder<S extends SessionView> {
  readonly client: string;
  /** Sessions held, and being opened, by this client. */
  readonly count: number;
  readonly sessions: Iterable<S>;
}

export function pickVictim<S extends SessionView>(holders: readonly Holder<S>[], newcomer: string, newcomerCount: number, maxSessions: number): S | undefined {
  const clients = holders.length + (holders.some((h) => h.client === newcomer) ? 0 : 1);
  const share = maxSessions / clients;
  let best: S | undefined;
  let bestStep = Infinity;
  let bestCount = -1;
  for (const holder of holders) {
    const own = holder.client === newcomer;
    if (!own && (holder.count <= share || holder.count < newcomerCount + 1)) continue;
    for (const session of holder.sessions) {
      const busy = session.inFlight > 0;
      const step = own ? (busy ? Infinity : 2) : !busy ? 1 : holder.count >= newcomerCount + 2 ? 3 : Infinity;
      if (step === Infinity) continue;
      const better = step < bestStep || (step === bestStep && (holder.count > bestCount || (holder.count === bestCount && session.lastActive < best!.lastActive)));
      if (!better) continue;
      best = session;
      bestStep = step;
      bestCount = holder.count;
    }
  }
  return best;
}

/** A client at its own cap: its idle session quiet longest, if any. */
export function pickOwnIdle<S extends SessionView>(sessions: Iterable<S>): S | undefined {
  let best: S | undefined;
  for (const session of sessions) if (session.inFlight === 0 && (!best || session.lastActive < best.lastActive)) best = session;
  return best;
}
