/**
 * The route table: an immutable snapshot of every route, its policy and its endpoints, swapped
 * whole when anything changes (a process turns ready or drains, a reload). The proxy reads only
 * the snapshot it took at the start of a request, and never the supervisor.
 */
import type { ResolvedAuth, ServerConfig } from '../config/schema.js';
import { policyOfConfig, type Policy } from '../auth/policy.js';
import type { ServerState } from '../events.js';
import type { Endpoint } from './endpoint.js';
import { createPrefixMatcher, type PrefixMatcher } from './match.js';

/** What a route applies to each request: from the server's config, swapped on reload. */
export interface RoutePolicy {
  readonly auth: ResolvedAuth | undefined;
  /** What a caller may call (auth/policy.ts), compiled once per config; only with auth.oauth. */
  readonly rules: Policy | undefined;
  /** forwardIdentity: header, claim. */
  readonly identity: readonly (readonly [string, string])[] | undefined;
  readonly maxInFlight: number | undefined;
  readonly upstreamTimeoutSeconds: number | undefined;
  readonly allowUpgrade: boolean;
  readonly forwardAuthorization: boolean;
  /** Tell the child who each request is from (`Mcpmux-Client`): a stdio server's bridge keeps per-client limits. */
  readonly identifyClient: boolean;
}

export interface Route {
  readonly prefix: string;
  readonly server: string;
  readonly policy: RoutePolicy;
  /** Where new requests and new sessions go: the ready replicas' processes (none: not ready). */
  readonly serving: readonly Endpoint[];
  /** Processes finishing what they have (requests in flight, their sessions) before they stop. */
  readonly draining: readonly Endpoint[];
  /** The server's state, named in the answer when nothing serves. */
  readonly state: ServerState;
}

export interface RouteTable extends PrefixMatcher<Route> {
  get(server: string): Route | undefined;
}

export function buildRouteTable(routes: readonly Route[]): RouteTable {
  const byServer = new Map(routes.map((route) => [route.server, Object.freeze(route)]));
  const matcher = createPrefixMatcher([...byServer.values()]);
  return Object.freeze({ routes: matcher.routes, match: matcher.match, get: (server: string) => byServer.get(server) });
}

export function policyOf(config: ServerConfig): RoutePolicy {
  return Object.freeze({
    auth: config.auth,
    rules: config.policy ? policyOfConfig(config.policy) : undefined,
    identity: config.forwardIdentity ? Object.entries(config.forwardIdentity) : undefined,
    maxInFlight: config.maxInFlight,
    upstreamTimeoutSeconds: config.upstreamTimeoutSeconds,
    allowUpgrade: config.allowUpgrade,
    forwardAuthorization: config.forwardAuthorization,
    identifyClient: config.transport === 'stdio',
  });
}

/**
 * The endpoint a request goes to: its session's owner while that one is still on the route
 * (serving or draining); else, among the serving endpoints, the one with less work under way
 * (requests in flight; a session's idle GET stream is not work) of two picked at random (Envoy's least-request: it steers around a replica stuck on a slow call,
 * and spreads evenly without a shared cursor). Undefined when nothing serves.
 */
export function pickEndpoint(route: Route, owner: Endpoint | undefined): Endpoint | undefined {
  if (owner !== undefined && (route.serving.includes(owner) || route.draining.includes(owner))) return owner;
  const { serving } = route;
  if (serving.length <= 1) return serving[0];
  const a = serving[Math.floor(Math.random() * serving.length)]!;
  let b = serving[Math.floor(Math.random() * (serving.length - 1))]!;
  if (b === a) b = serving[serving.length - 1]!;
  return b.load < a.load ? b : a;
}
