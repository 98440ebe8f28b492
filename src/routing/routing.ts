/**
 * Keeps the route table: builds a new snapshot from the servers' config and the endpoints the
 * supervisor publishes (ready, unready, draining, gone), and swaps it whole. Also holds the
 * session affinity, which outlives snapshots.
 */
import type { ServerConfig } from '../config/schema.js';
import type { Events, ServerState } from '../events.js';
import type { Endpoint } from './endpoint.js';
import { DEFAULT_AFFINITY, SessionAffinity, type AffinityLimits } from './sessions.js';
import { buildRouteTable, policyOf, type Route, type RouteTable } from './table.js';

export interface Routing {
  /** The snapshot to serve a request from. */
  readonly current: RouteTable;
  readonly affinity: SessionAffinity;
  /** Routes for these servers from now on (a reload): new prefixes and policies, endpoints kept. */
  setServers(servers: readonly ServerConfig[]): void;
}

interface Slot {
  config: ServerConfig;
  state: ServerState;
  serving: Endpoint[];
  draining: Endpoint[];
}

/** How often sessions idle past their timeout are forgotten. */
const SWEEP_MS = 60_000;

export function createRouting(servers: readonly ServerConfig[], events: Events, limits: AffinityLimits = DEFAULT_AFFINITY): Routing {
  const affinity = new SessionAffinity(limits);
  setInterval(() => affinity.sweep(), SWEEP_MS).unref();
  const slots = new Map<string, Slot>();
  let current: RouteTable = buildRouteTable([]);

  const publish = () => {
    const routes: Route[] = [];
    for (const slot of slots.values()) {
      routes.push({ prefix: slot.config.prefix, server: slot.config.name, policy: policyOf(slot.config), serving: Object.freeze([...slot.serving]), draining: Object.freeze([...slot.draining]), state: slot.state });
    }
    current = buildRouteTable(routes);
  };
  const setServers = (next: readonly ServerConfig[]) => {
    const names = new Set(next.map((s) => s.name));
    for (const [name, slot] of slots) {
      if (names.has(name)) continue;
      // A removed route: its sessions can reach nothing any more; its processes only finish their requests.
      for (const endpoint of [...slot.serving, ...slot.draining]) affinity.forgetEndpoint(endpoint);
      affinity.removeServer(name);
      slots.delete(name);
    }
    for (const config of next) {
      const slot = slots.get(config.name);
      if (slot) slot.config = config;
      else slots.set(config.name, { config, state: 'stopped', serving: [], draining: [] });
    }
    publish();
  };
  const withSlot = (server: string, change: (slot: Slot) => void) => {
    const slot = slots.get(server);
    if (!slot) return;
    change(slot);
    publish();
  };
  const drain = (slot: Slot, endpoint: Endpoint) => {
    endpoint.draining = true;
    slot.serving = slot.serving.filter((e) => e !== endpoint);
    if (!slot.draining.includes(endpoint)) slot.draining.push(endpoint);
  };

  events.on('state-changed', ({ server, to }) => withSlot(server, (slot) => (slot.state = to)));
  // A rollout's new process turns ready, then the one it replaces drains (its sessions stay with it).
  events.on('endpoint-ready', ({ server, endpoint }) =>
    withSlot(server, (slot) => {
      endpoint.draining = false;
      slot.draining = slot.draining.filter((e) => e !== endpoint);
      if (!slot.serving.includes(endpoint)) slot.serving.push(endpoint);
    }),
  );
  events.on('endpoint-unready', ({ server, endpoint }) =>
    withSlot(server, (slot) => {
      slot.serving = slot.serving.filter((e) => e !== endpoint);
    }),
  );
  events.on('endpoint-draining', ({ server, endpoint }) => withSlot(server, (slot) => drain(slot, endpoint)));
  events.on('endpoint-gone', ({ server, endpoint }) => {
    affinity.forgetEndpoint(endpoint);
    withSlot(server, (slot) => {
      slot.serving = slot.serving.filter((e) => e !== endpoint);
      slot.draining = slot.draining.filter((e) => e !== endpoint);
    });
  });

  setServers(servers);
  return {
    get current() {
      return current;
    },
    affinity,
    setServers,
  };
}
