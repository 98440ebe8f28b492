/**
 * One rollout of a server at a time. A rollout asked for by hand (`mcpmux rollout NAME`) while
 * another runs is refused at once, as a value that says what runs (`busy`); one that a reload
 * needs is never lost nor refused: it waits for the running one, a later reload's replaces it (the
 * newest config wins), and it starts the moment the running one ends, before anything else can.
 *
 * It reports each rollout's end, each refusal and each wait as lifecycle events.
 */
import type { ServerConfig } from '../config/schema.js';
import type { Events } from '../events.js';
import type { Clock } from '../clock.js';
import type { RolloutBusy, RolloutResult, RunningRollout } from './status.js';

/** Rolls the server's processes onto `config`: the rollout itself (managed-server.ts). */
export type RollProcesses = (config: ServerConfig) => Promise<RolloutResult>;

interface Queued {
  config: ServerConfig;
  trigger: string;
  readonly done: Promise<RolloutResult>;
  readonly resolve: (result: RolloutResult) => void;
}

export class RolloutQueue {
  readonly #server: string;
  readonly #events: Events;
  readonly #clock: Clock;
  readonly #roll: RollProcesses;
  #running: RunningRollout | undefined;
  #queued: Queued | undefined;

  constructor(server: string, events: Events, clock: Clock, roll: RollProcesses) {
    this.#server = server;
    this.#events = events;
    this.#clock = clock;
    this.#roll = roll;
  }

  /** The rollout under way, if any: since when, and who asked for it. */
  get running(): RunningRollout | undefined {
    return this.#running;
  }

  /** A rollout now; while another runs, refused at once (`busy`, naming the one that runs). */
  start(config: ServerConfig, trigger: string): Promise<RolloutResult> {
    const running = this.#running;
    if (!running) return this.#run(config, trigger);
    const busy: RolloutBusy = { ok: false, busy: true, reason: `a rollout of ${this.#server} is under way (since ${running.since}, asked by ${running.trigger})`, running };
    this.#events.emit('rollout-refused', { server: this.#server, trigger, reason: busy.reason });
    return Promise.resolve(busy);
  }

  /**
   * A rollout a reload needs: now, or once the running one ends. A rollout already waiting takes
   * this config instead (and both callers get its result). Resolves when it has ended.
   */
  enqueue(config: ServerConfig, trigger: string): Promise<RolloutResult> {
    const running = this.#running;
    if (!running) return this.#run(config, trigger);
    const waiting = this.#queued;
    this.#events.emit('rollout-queued', { server: this.#server, trigger, behind: running, replaced: waiting !== undefined });
    if (waiting) {
      waiting.config = config;
      waiting.trigger = trigger;
      return waiting.done;
    }
    let resolve!: (result: RolloutResult) => void;
    const done = new Promise<RolloutResult>((settle) => (resolve = settle));
    this.#queued = { config, trigger, done, resolve };
    return done;
  }

  /** A newer config for the rollout waiting, if one is (a reload that changed only what applies at once). */
  retarget(config: ServerConfig): void {
    if (this.#queued) this.#queued.config = config;
  }

  /** Drops the rollout waiting, if one is (the server stops or leaves): it ends with `reason`. */
  drop(reason: string): void {
    const waiting = this.#queued;
    this.#queued = undefined;
    waiting?.resolve({ ok: false, reason });
  }

  async #run(config: ServerConfig, trigger: string): Promise<RolloutResult> {
    this.#running = { since: new Date(this.#clock.now()).toISOString(), trigger };
    let result: RolloutResult;
    try {
      result = await this.#roll(config);
    } catch (error) {
      // The rollout catches its own failures; this only keeps the queue from jamming if it did not.
      this.#events.emit('internal-error', { where: 'rollout', error });
      result = { ok: false, reason: `the rollout failed: ${(error as Error)?.message ?? String(error)}` };
    }
    const startedAt = Date.parse(this.#running.since);
    this.#running = undefined;
    this.#events.emit('rollout-finished', result.ok ? { server: this.#server, trigger, ok: true, pid: result.pid, startedAt } : { server: this.#server, trigger, ok: false, reason: result.reason, startedAt });
    // The next one starts in this same turn: no rollout asked for meanwhile can slip in first.
    const next = this.#queued;
    this.#queued = undefined;
    if (next) void this.#run(next.config, next.trigger).then(next.resolve);
    return result;
  }
}
