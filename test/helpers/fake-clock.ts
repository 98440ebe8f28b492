/** A clock for unit tests of the supervisor's state machine: time moves only when the test says. */
import type { Clock } from '../../src/clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly run: () => void;
}

/** Lets every promise chain started so far run to its next wait on the clock (or its end). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  #now = 1_000_000;
  #timers: Timer[] = [];
  #nextId = 1;

  now(): number {
    return this.#now;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), run });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Moves time forward by `ms`, firing each timer when due, and settling promises between them. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.run();
    }
    this.#now = end;
    await settle();
  }
}
