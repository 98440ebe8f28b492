/**
 * How fast each client may open sessions on a stdio server: a token bucket per client (nginx's
 * `limit_req` keyed by client), since a session costs a process. The buckets are bounded: a
 * client whose bucket is full again is forgotten first (it has nothing spent to remember), then
 * the one seen longest ago.
 */
import { TokenBucket } from '../token-bucket.js';

export interface SessionRate {
  /** Sessions a client may open at once. */
  readonly burst: number;
  /** And then per second. */
  readonly perSecond: number;
}

/** Clients remembered at most (~200 bytes each). */
const MAX_CLIENTS = 10_000;

export class ClientRates {
  readonly #rate: SessionRate;
  readonly #now: () => number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(rate: SessionRate, now: () => number = Date.now) {
    this.#rate = rate;
    this.#now = now;
  }

  /** 0 when `client` may open a session now (and it is counted); else the seconds until it may. */
  take(client: string): number {
    let bucket = this.#buckets.get(client);
    if (!bucket) {
      if (this.#buckets.size >= MAX_CLIENTS) this.#forgetSome();
      bucket = new TokenBucket({ ...this.#rate, now: this.#now });
      this.#buckets.set(client, bucket);
    } else {
      // Seen now: to the end of the order in which clients are forgotten.
      this.#buckets.delete(client);
      this.#buckets.set(client, bucket);
    }
    return bucket.take() ? 0 : bucket.secondsUntilToken();
  }

  get size(): number {
    return this.#buckets.size;
  }

  #forgetSome(): void {
    for (const [client, bucket] of this.#buckets) if (bucket.full) this.#buckets.delete(client);
    if (this.#buckets.size >= MAX_CLIENTS) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
