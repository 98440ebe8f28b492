/**
 * Processes started ahead of their sessions, so that a new session skips the cold start (npx or
 * uvx resolving packages, an interpreter loading). A warm process is started but not initialized:
 * the client's own `initialize`, with its own capabilities, is the first message it reads.
 * A warm process that exits is replaced, with the supervisor's backoff between attempts.
 */
import { nextDelay, type BackoffPolicy } from '../supervisor/backoff.js';
import type { ProcessExit } from '../supervisor/spawn.js';
import type { StdioProcess } from './stdio-process.js';

export const WARM_BACKOFF: BackoffPolicy = { initialSeconds: 0.5, maxSeconds: 30, resetAfterSeconds: 60 };

export interface WarmPoolHooks {
  readonly onWarmExit: (pid: number, exit: ProcessExit) => void;
  readonly onStartFailed: (error: unknown) => void;
}

export class WarmPool {
  readonly #size: number;
  readonly #start: () => Promise<StdioProcess>;
  readonly #hooks: WarmPoolHooks;
  readonly #ready: StdioProcess[] = [];
  #starting = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(size: number, start: () => Promise<StdioProcess>, hooks: WarmPoolHooks) {
    this.#size = size;
    this.#start = start;
    this.#hooks = hooks;
  }

  /** Live warm processes. */
  get size(): number {
    return this.#ready.length;
  }

  get pids(): number[] {
    return this.#ready.map((p) => p.pid);
  }

  fill(): void {
    if (this.#stopped || this.#timer) return;
    while (this.#ready.length + this.#starting < this.#size) void this.#startOne();
  }

  /** A warm process if one is live, else one started now. Throws what starting throws. */
  async take(): Promise<StdioProcess> {
    const warm = this.#ready.shift();
    this.fill();
    if (warm) return warm;
    return this.#start();
  }

  /** Stops every warm process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#ready.splice(0).map((p) => p.stop()));
  }

  async #startOne(): Promise<void> {
    this.#starting += 1;
    let process: StdioProcess;
    try {
      process = await this.#start();
    } catch (error) {
      this.#starting -= 1;
      this.#hooks.onStartFailed(error);
      return this.#retryLater();
    }
    this.#starting -= 1;
    if (this.#stopped) return void process.stop();
    this.#ready.push(process);
    void process.exited.then((exit) => {
      const at = this.#ready.indexOf(process);
      if (at === -1) return; // taken by a session: its exit is the session's business
      this.#ready.splice(at, 1);
      this.#hooks.onWarmExit(process.pid, exit);
      if ((Date.now() - process.startedAt) / 1000 >= WARM_BACKOFF.resetAfterSeconds) this.#failures = 0;
      this.#retryLater();
    });
  }

  #retryLater(): void {
    if (this.#stopped || this.#timer) return;
    this.#failures += 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.fill();
    }, nextDelay(this.#failures, WARM_BACKOFF) * 1000).unref();
  }
}
