/** The set of managed servers: startAll / stopAll / get(name), and the servers a reload adds or removes. */
import type { ServerConfig } from '../config/schema.js';
import type { Events } from '../events.js';
import type { AddEnv } from './child-env.js';
import { ManagedServer, type ServerStatus } from './managed-server.js';
import { ProcessRun } from './process.js';
import type { ServerSeams } from './replica.js';

export interface SupervisorOptions {
  /** What mcpmux adds to each server's processes' environment (tracing's), at each spawn. */
  readonly addEnv?: AddEnv | undefined;
}

export class Supervisor {
  readonly #servers: Map<string, ManagedServer>;
  readonly #events: Events;
  readonly #seams: Partial<ServerSeams>;
  /** Servers removed by a reload, still draining: a stop waits for them too. */
  readonly #retiring = new Map<ManagedServer, Promise<void>>();

  constructor(configs: readonly ServerConfig[], events: Events, options: SupervisorOptions = {}) {
    this.#events = events;
    const { addEnv } = options;
    this.#seams = addEnv ? { spawnRun: (config, ...rest) => ProcessRun.spawn(config, ...rest, addEnv(config)) } : {};
    this.#servers = new Map(configs.map((config) => [config.name, new ManagedServer(config, events, this.#seams)]));
  }

  get(name: string): ManagedServer | undefined {
    return this.#servers.get(name);
  }

  list(): ManagedServer[] {
    return [...this.#servers.values()];
  }

  /** Starts every server at once. One server that cannot start never keeps the others from starting. */
  async startAll(): Promise<void> {
    await Promise.all(this.list().map((server) => server.start()));
  }

  /** A server new in the config: started at once. */
  async add(config: ServerConfig): Promise<void> {
    const server = new ManagedServer(config, this.#events, this.#seams);
    this.#servers.set(config.name, server);
    await server.start();
  }

  /** A server gone from the config: it leaves the list now, drains and stops. Resolves once it is stopped. */
  remove(name: string): Promise<void> {
    const server = this.#servers.get(name);
    if (!server) return Promise.resolve();
    this.#servers.delete(name);
    const retiring = server.retire().finally(() => this.#retiring.delete(server));
    this.#retiring.set(server, retiring);
    return retiring;
  }

  /** Stops every server in parallel; each gets its own terminationGracePeriodSeconds. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.list().map((server) => server.stop()), ...[...this.#retiring.keys()].map((server) => server.stop())]);
  }

  /** Forced stop: SIGKILL to every process group now. */
  async killAll(): Promise<void> {
    await Promise.all([...this.list(), ...this.#retiring.keys()].map((server) => server.kill()));
  }

  statuses(): ServerStatus[] {
    return this.list().map((server) => server.status());
  }

  notReady(): string[] {
    return this.list()
      .filter((server) => server.state !== 'ready')
      .map((server) => server.name);
  }
}
