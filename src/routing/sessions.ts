/**
 * Session affinity: which endpoint created each MCP session (`Mcp-Session-Id`), so that every later
 * request of the session reaches that process, also while it drains. Learnt from the answer that
 * names a new session; forgotten on DELETE, on a 404 from the owner, and when the owner is gone.
 * Bounded: past its size, the session learnt longest ago is forgotten (its client then gets the
 * serving process, which answers 404, and starts a new session, as the spec has it).
 */
import type { Endpoint } from './endpoint.js';

/** Sessions remembered at most, all servers together: ~150 bytes each. */
export const MAX_SESSIONS = 100_000;

export class SessionAffinity {
  readonly #owners = new Map<string, Endpoint>();
  readonly #max: number;

  constructor(max = MAX_SESSIONS) {
    this.#max = max;
  }

  get size(): number {
    return this.#owners.size;
  }

  /** The endpoint that owns this session, if known. */
  ownerOf(session: string): Endpoint | undefined {
    return this.#owners.get(session);
  }

  learn(session: string, owner: Endpoint): void {
    const known = this.#owners.get(session);
    if (known === owner) return;
    if (known) known.sessions -= 1;
    else if (this.#owners.size >= this.#max) this.#evictOldest();
    this.#owners.set(session, owner);
    owner.sessions += 1;
  }

  forget(session: string): void {
    const owner = this.#owners.get(session);
    if (!owner) return;
    owner.sessions -= 1;
    this.#owners.delete(session);
  }

  /** Forgets every session of an endpoint that is gone. */
  forgetEndpoint(endpoint: Endpoint): void {
    if (endpoint.sessions === 0) return;
    for (const [session, owner] of this.#owners) if (owner === endpoint) this.#owners.delete(session);
    endpoint.sessions = 0;
  }

  #evictOldest(): void {
    const oldest = this.#owners.keys().next();
    if (!oldest.done) this.forget(oldest.value);
  }
}
