/**
 * One server: `replicas` replicas (replica.ts), each its own process with its own probes,
 * restarts and backoff, and the server's state made of theirs. The server is ready while any
 * replica is: a replica that fails costs capacity, never the route. A rollout replaces the
 * replicas one at a time, each new process ready before the one it replaces drains, so the server
 * never has fewer ready replicas than before.
 */
import type { ServerConfig } from '../config/schema.js';
import type { Events, ServerState } from '../events.js';
import { ServerOutput } from './output.js';
import { Replica, type ServerSeams } from './replica.js';
import type { LastExit, RolloutResult, ServerStatus } from './status.js';

export type { ExitReason } from './process.js';
export type { LastExit, ProcessStatus, ReplicaStatus, RolloutResult, ServerStatus } from './status.js';

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

  constructor(config: ServerConfig, events: Events, seams: Partial<ServerSeams> = {}) {
    this.#config = config;
    this.#events = events;
    this.#seams = seams;
    this.#output = new ServerOutput(config.name, events);
    this.#replicas = Array.from({ length: config.replicas }, (_, i) => this.#makeReplica(config, i));
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

  /**
   * A new replica count (a reload): new replicas start on `config`; the replicas past the count
   * leave, each draining its requests and sessions first. The others are not touched.
   */
  async scale(config: ServerConfig): Promise<void> {
    this.updateConfig(config);
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
    return Promise.all(this.#replicas.map((r) => r.stop())).then(() => undefined);
  }

  kill(): Promise<void> {
    return Promise.all(this.#replicas.map((r) => r.kill())).then(() => undefined);
  }

  retire(): Promise<void> {
    return Promise.all(this.#replicas.map((r) => r.retire())).then(() => undefined);
  }

  updateConfig(config: ServerConfig): void {
    this.#config = config;
    for (const replica of this.#replicas) replica.updateConfig(config);
  }

  /**
   * Replaces each replica's process with one on `config`, one replica at a time. Stops at the
   * first replica whose new process fails: the others keep their processes and config.
   */
  async rollout(config: ServerConfig = this.#config): Promise<RolloutResult> {
    // A new count too: the replicas that stay roll; new ones start on the new config; extras drain.
    const staying = this.#replicas.slice(0, config.replicas);
    const scaling = config.replicas !== this.#replicas.length ? this.scale(config) : undefined;
    let last: RolloutResult = { ok: false, reason: 'no replica' };
    for (const replica of staying) {
      last = await replica.rollout(config);
      if (!last.ok) return { ok: false, reason: this.#replicas.length > 1 ? `replica ${replica.index}: ${last.reason}` : last.reason };
    }
    await scaling;
    this.#config = config;
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
