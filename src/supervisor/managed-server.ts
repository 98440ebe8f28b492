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
  #state: ServerState = 'stopped';

  constructor(config: ServerConfig, events: Events, seams: Partial<ServerSeams> = {}) {
    this.#config = config;
    this.#events = events;
    // One output budget for the server: its replicas together cannot flood the log more than one.
    const output = new ServerOutput(config.name, events);
    this.#replicas = Array.from({ length: config.replicas }, (_, i) => new Replica(config, events, i, (replica, _from, _to, reason) => this.#onReplicaState(replica, reason), seams, output));
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
    await Promise.all(this.#replicas.map((r) => r.start()));
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
    let last: RolloutResult = { ok: false, reason: 'no replica' };
    for (const replica of this.#replicas) {
      last = await replica.rollout(config);
      if (!last.ok) return { ok: false, reason: this.#replicas.length > 1 ? `replica ${replica.index}: ${last.reason}` : last.reason };
    }
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
