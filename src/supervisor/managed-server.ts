/**
 * One server: `replicas` replicas (replica.ts), each its own process with its own probes,
 * restarts and backoff, and the server's state made of theirs. The server is ready while any
 * replica is: a replica that fails costs capacity, never the route. A rollout replaces the
 * replicas one at a time, each new process ready before the one it replaces drains, so the server
 * never has fewer ready replicas than before. One rollout runs at a time (rollout-queue.ts).
 */
import type { ServerConfig } from '../config/schema.js';
import type { Events, ServerState } from '../events.js';
import { systemClock } from '../clock.js';
import { ServerOutput } from './output.js';
import { Replica, type ServerSeams } from './replica.js';
import { RolloutQueue } from './rollout-queue.js';
import type { LastExit, RolloutResult, RunningRollout, ServerStatus } from './status.js';

export type { ExitReason } from './process.js';
export type { LastExit, ProcessStatus, ReplicaStatus, RolloutBusy, RolloutResult, RunningRollout, ServerStatus } from './status.js';

/** Who asked for a rollout by hand, as a refusal names it. */
export const MANUAL_ROLLOUT = 'mcpmux rollout';

/** The server's state from its replicas', in this order of precedence: any ready makes it ready. */
const PRECEDENCE: readonly ServerState[] = ['ready', 'unready', 'starting', 'stopping', 'backoff', 'failed', 'stopped'];

export class ManagedServer {
  #config: ServerConfig;
  readonly #events: Events;
  readonly #replicas: Replica[];
  readonly #seams: Partial<ServerSeams>;
  /** One output budget for the server: its replicas together cannot flood the log more than one. */
  readonly #output: ServerOutput;
  #state: ServerState = 'stopped';
  #started = false;
  readonly #rollouts: RolloutQueue;

  constructor(config: ServerConfig, events: Events, seams: Partial<ServerSeams> = {}) {
    this.#config = config;
    this.#events = events;
    this.#seams = seams;
    this.#output = new ServerOutput(config.name, events);
    this.#replicas = Array.from({ length: config.replicas }, (_, i) => this.#makeReplica(config, i));
    this.#rollouts = new RolloutQueue(config.name, events, seams.clock ?? systemClock, (next) => this.#rollReplicas(next));
  }

  #makeReplica(config: ServerConfig, index: number): Replica {
    return new Replica(config, this.#events, index, (replica, _from, _to, reason) => this.#onReplicaState(replica, reason), this.#seams, this.#output);
  }

  get config(): ServerConfig {
    return this.#config;
  }

  get name(): string {
    return this.#config.name;
  }

  get state(): ServerState {
    return this.#state;
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  async start(): Promise<void> {
    this.#started = true;
    await Promise.all(this.#replicas.map((r) => r.start()));
  }

  /** The rollout under way, if any. */
  get rolloutRunning(): RunningRollout | undefined {
    return this.#rollouts.running;
  }

  /**
   * A new replica count (a reload): new replicas start on `config`; the replicas past the count
   * leave, each draining its requests and sessions first. The others are not touched.
   */
  scale(config: ServerConfig): Promise<void> {
    this.updateConfig(config);
    return this.#resize(config);
  }

  async #resize(config: ServerConfig): Promise<void> {
    const added: Replica[] = [];
    while (this.#replicas.length < config.replicas) {
      const replica = this.#makeReplica(config, this.#replicas.length);
      this.#replicas.push(replica);
      added.push(replica);
    }
    const leaving = this.#replicas.splice(config.replicas);
    await Promise.all([...(this.#started ? added.map((r) => r.start()) : []), ...leaving.map((r) => r.retire())]);
  }

  stop(): Promise<void> {
    this.#rollouts.drop('the server is stopping');
    return Promise.all(this.#replicas.map((r) => r.stop())).then(() => undefined);
  }

  kill(): Promise<void> {
    this.#rollouts.drop('the server is stopping');
    return Promise.all(this.#replicas.map((r) => r.kill())).then(() => undefined);
  }

  retire(): Promise<void> {
    this.#rollouts.drop('the server was removed');
    return Promise.all(this.#replicas.map((r) => r.retire())).then(() => undefined);
  }

  /** A reload's new config that touches no process: applied now, and to a rollout waiting. */
  updateConfig(config: ServerConfig): void {
    this.#config = config;
    for (const replica of this.#replicas) replica.updateConfig(config);
    this.#rollouts.retarget(config);
  }

  /**
   * A rollout asked for by hand (`mcpmux rollout NAME`), on the server's config: refused at once,
   * as `busy`, while another rollout of the server runs.
   */
  rollout(config: ServerConfig = this.#config, trigger = MANUAL_ROLLOUT): Promise<RolloutResult> {
    return this.#rollouts.start(config, trigger);
  }

  /**
   * A rollout a reload needs: now, or once the rollout under way ends; a later reload's replaces
   * it while it waits. Resolves when the rollout that carried it ended.
   */
  queueRollout(config: ServerConfig, trigger: string): Promise<RolloutResult> {
    return this.#rollouts.enqueue(config, trigger);
  }

  /**
   * Replaces each replica's process with one on `config`, one replica at a time. Stops at the
   * first replica whose new process fails: the others keep their processes and config.
   */
  async #rollReplicas(config: ServerConfig): Promise<RolloutResult> {
    const before = this.#config;
    // A new count too: the replicas that stay roll; new ones start on the new config; extras drain.
    const staying = this.#replicas.slice(0, config.replicas);
    const scaling = config.replicas !== this.#replicas.length ? this.#resize(config) : undefined;
    let last: RolloutResult = { ok: false, reason: 'no replica' };
    for (const replica of staying) {
      // A reload's new count may have retired it meanwhile: it has left, nothing to roll.
      if (!this.#replicas.includes(replica)) continue;
      last = await replica.rollout(config);
      if (!last.ok) return { ok: false, reason: this.#replicas.length > 1 ? `replica ${replica.index}: ${last.reason}` : last.reason };
    }
    await scaling;
    // A reload during the rollout handed a newer config: it stays the server's (the newest wins).
    if (this.#config === before) this.#config = config;
    else for (const replica of this.#replicas) replica.updateConfig(this.#config);
    return last;
  }

  status(): ServerStatus {
    const replicas = this.#replicas.map((r) => r.status());
    const lead = replicas.find((r) => r.ready) ?? replicas[0]!;
    const exits = replicas.map((r) => r.lastExit).filter((e): e is LastExit => e !== null);
    return {
      name: this.#config.name,
      prefix: this.#config.prefix,
      transport: this.#config.transport,
      state: this.#state,
      ready: this.#state === 'ready',
      pid: lead.pid,
      port: lead.port,
      restarts: replicas.reduce((sum, r) => sum + r.restarts, 0),
      startedAt: lead.startedAt,
      lastExit: exits.sort((a, b) => (a.at < b.at ? 1 : -1))[0] ?? null,
      processes: replicas.flatMap((r) => r.processes),
      replicas,
    };
  }

  #onReplicaState(replica: Replica, reason: string): void {
    const states = new Set(this.#replicas.map((r) => r.state));
    const next = PRECEDENCE.find((s) => states.has(s)) ?? 'stopped';
    const from = this.#state;
    if (next === from) return;
    this.#state = next;
    this.#events.emit('state-changed', { server: this.name, from, to: next, reason: this.#replicas.length > 1 ? `replica ${replica.index}: ${reason}` : reason });
  }
}
