/**
 * A token bucket: `burst` tokens at once, refilled at `perSecond`. The output line budget, the
 * stdio bridge's per-client session rate and its per-session budget of stdout lines that go
 * nowhere are all one. `now` is in milliseconds; unit tests pass their own clock.
 */
export interface TokenBucketOptions {
  readonly burst: number;
  readonly perSecond: number;
  readonly now?: () => number;
}

export class TokenBucket {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(options: TokenBucketOptions) {
    this.#burst = options.burst;
    this.#perMs = options.perSecond / 1000;
    this.#now = options.now ?? Date.now;
    this.#tokens = this.#burst;
    this.#at = this.#now();
  }

  /** True when a token was taken now. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when a token could be taken now; takes none. */
  hasToken(): boolean {
    this.#refill();
    return this.#tokens >= 1;
  }

  /** True when the bucket is full again: nothing spent is left to remember. */
  get full(): boolean {
    this.#refill();
    return this.#tokens >= this.#burst;
  }

  /** Seconds until a token can be taken (0 when one can now). */
  secondsUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.#perMs / 1000;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }
}
