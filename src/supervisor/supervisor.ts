/** The set of managed servers: startAll / stopAll / get(name). */
import type { ServerConfig } from '../config/schema.js';
import type { Events } from '../events.js';
import { ManagedServer, type ServerStatus } from './managed-server.js';

export class Supervisor {
  readonly #servers: ReadonlyMap<string, ManagedServer>;

  constructor(configs: readonly ServerConfig[], events: Events) {
    this.#servers = new Map(configs.map((config) => [config.name, new ManagedServer(config, events)]));
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

  /** Stops every server in parallel; each gets its own terminationGracePeriodSeconds. */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((server) => server.stop()));
  }

  /** Forced stop: SIGKILL to every process group now. */
  async killAll(): Promise<void> {
    await Promise.all(this.list().map((server) => server.kill()));
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
