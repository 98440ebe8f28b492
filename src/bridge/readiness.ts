/**
 * Whether a process of this server can answer: the bridge's /readyz. It holds once a process has
 * answered `initialize` with a result: a canary at start (a process started, initialized and
 * stopped, never a session's), then every session's own initialize. A session whose process did
 * not answer makes it false, and a canary runs again, with backoff, until one answers. Probes only
 * read it: no probe ever starts a process.
 */
import { nextDelay } from '../supervisor/backoff.js';
import { WARM_BACKOFF } from './warm-pool.js';

export class Readiness {
  readonly #canary: () => Promise<void>;
  readonly #onChange: (ready: boolean, reason: string) => void;
  readonly #onCanaryFailed: (reason: string) => void;
  #ready = false;
  #reason = 'the first process has not answered initialize yet';
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;

  /** `canary` starts a process, initializes it and stops it; it rejects with why it failed. */
  constructor(canary: () => Promise<void>, hooks: { onChange: (ready: boolean, reason: string) => void; onCanaryFailed: (reason: string) => void }) {
    this.#canary = canary;
    this.#onChange = hooks.onChange;
    this.#onCanaryFailed = hooks.onCanaryFailed;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get reason(): string {
    return this.#reason;
  }

  start(): void {
    void this.#check();
  }

  /** A session's process answered its initialize (ok) or did not. */
  report(ok: boolean, reason: string): void {
    if (ok) {
      this.#failures = 0;
      this.#set(true, reason);
    } else {
      this.#set(false, reason);
      this.#later();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.#canary();
      this.report(true, 'a process answered initialize');
    } catch (error) {
      const reason = `a process did not answer initialize: ${(error as Error).message}`;
      this.#set(false, reason);
      this.#onCanaryFailed(reason);
      this.#later();
    } finally {
      this.#running = false;
    }
  }

  #later(): void {
    if (this.#timer || this.#stopped) return;
    this.#failures += 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check();
    }, Math.max(1, nextDelay(this.#failures + 1, WARM_BACKOFF)) * 1000).unref();
  }

  #set(ready: boolean, reason: string): void {
    const changed = ready !== this.#ready;
    this.#ready = ready;
    this.#reason = reason;
    if (changed) this.#onChange(ready, reason);
  }
}
