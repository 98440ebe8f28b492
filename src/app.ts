/**
 * Composition root: supervisor + proxy + admin (+ tracing, when on).
 * Stop order: readyz 503 -> delay -> (cluster: serve its sessions) -> stop accepting -> drain in-flight
 * -> stop children (and flush the last spans meanwhile) -> close admin.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createBridgeStatusReader } from './admin/bridge-status.js';
import type { ControlSocketState } from './admin/control.js';
import { createMetrics } from './admin/metrics.js';
import { createAdminHandler } from './admin/server.js';
import type { Config } from './config/schema.js';
import { ListenError, type ConfigProblem } from './errors.js';
import { createEvents, type Events } from './events.js';
import { subscribeLogging } from './log.js';
import { fitConnectionsToFiles, readOpenFileLimit } from './proxy/connections.js';
import { createProxyHandler } from './proxy/handler.js';
import { createCluster } from './cluster/cluster.js';
import { createAuthGate } from './auth/gate.js';
import { createKeySets } from './auth/key-sets.js';
import { createRouting } from './routing/routing.js';
import type { RolloutResult } from './supervisor/managed-server.js';
import { Supervisor } from './supervisor/supervisor.js';
import { diffConfigs } from './config/diff.js';
import { waitUntil } from './supervisor/wait.js';
import { startAppTracing } from './tracing/app-tracing.js';
import { addTracingEnv } from './tracing/child-env.js';
import { traceLifecycle } from './tracing/lifecycle-spans.js';

export interface App {
  readonly events: Events;
  readonly supervisor: Supervisor;
  readonly publicPort: number;
  readonly adminPort: number;
  /** Graceful stop, in the contract's order. Safe to call twice: the second call returns the same promise. */
  stop(): Promise<void>;
  /** Forced stop: every connection cut, every process group killed at once. */
  forceStop(): Promise<void>;
  /**
   * Applies a new config (already validated): routes and policies at once, new servers started,
   * removed ones drained, changed processes rolled one server at a time. A change that needs a
   * restart (a listener) is refused whole. Resolves once the actions are under way; rollouts and
   * drains go on, reported as events.
   */
  reload(next: Config, trigger: string): ReloadResult;
  /**
   * Rolls one server onto a new process, as a config change would (`mcpmux rollout NAME`); while
   * another rollout of it runs, refused at once (`busy`).
   */
  rollout(server: string): Promise<RolloutResult | undefined>;
}

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Under `cluster`, what a drain keeps after serving sessions, for the requests then in flight. */
const DRAIN_TAIL_MS = 5000;

/** What a stop keeps back from the flush of the last spans, for closing the admin listener after. */
const FLUSH_MARGIN_MS = 500;

/** Connections the admin listener takes at once: probes and scrapes need a few. */
const ADMIN_MAX_CONNECTIONS = 128;

/** What the app reads from outside it, for the metrics. */
export interface AppSources {
  /** Log records dropped because stdout could not keep up. */
  readonly droppedLogRecords?: () => number;
  /** Whether the control socket listens (main.ts opens it once the app runs), for /status and the metrics. */
  readonly controlSocket?: () => ControlSocketState;
}

export async function startApp(config: Config, log: Logger, sources: AppSources = {}): Promise<App> {
  const events = createEvents();
  const bridged = new Set(config.servers.filter((s) => s.transport === 'stdio').map((s) => s.name));
  subscribeLogging(events, log, bridged);
  let running = config;
  const { limits } = config.listen;
  const maxConnections = fitConnections(limits.maxConnections, config.servers.length, log);
  const routing = createRouting(config.servers, events, config.affinity);
  // Started before anything listens; with tracing off, no module of the SDK is loaded.
  const traced = await startAppTracing(config.tracing, process.env, log);
  const tracing = traced.tracing;
  if (tracing) traceLifecycle(events, tracing.tracer);
  const supervisor = new Supervisor(config.servers, events, { addEnv: traced.settings && addTracingEnv(traced.settings) });
  const cluster = config.cluster && createCluster(config.cluster);
  // Issuers' key sets, fetched by mcpmux on the first token that needs one, kept across reloads.
  const keySets = createKeySets({ onFetch: (fetched) => events.emit('key-set-fetch', fetched) });
  const proxy = createProxyHandler({ listen: config.listen, routing, events, gate: createAuthGate(keySets), maxConnections, cluster, tracing });
  const readBridges = createBridgeStatusReader(() => supervisor.statuses());
  const metrics = createMetrics(events, () => supervisor.statuses(), {
    readBridges,
    openConnections: () => proxy.connections.open,
    sessionTables: () => routing.affinity.stats(),
    droppedLogRecords: sources.droppedLogRecords,
    controlSocket: sources.controlSocket,
    cluster: cluster !== undefined,
    tracing: tracing && (() => tracing.stats()),
  });
  let stopping = false;
  const publicServer = http.createServer(
    {
      keepAliveTimeout: 65_000,
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutSeconds * 1000,
      // Time to receive a whole request; a response (an SSE stream) is never cut by it.
      requestTimeout: Math.max(limits.requestTimeoutSeconds, limits.headersTimeoutSeconds) * 1000,
      // How often those two are enforced; Node's default of 30 s lets a slow client linger.
      connectionsCheckingInterval: 1000,
    },
    proxy.handle,
  );
  // Slots are kept by the proxy's connection gate: idle connections make room for new ones.
  publicServer.on('connection', proxy.connections.admit);
  publicServer.on('upgrade', proxy.handleUpgrade);
  publicServer.on('checkContinue', (req, res) => proxy.handleContinue(req, res));
  const adminServer = http.createServer(createAdminHandler({ supervisor, registry: metrics.registry, isStopping: () => stopping, readBridges, controlSocket: sources.controlSocket, cluster: config.cluster && { advertiseAddress: config.cluster.advertiseAddress, peers: config.cluster.peers } }));
  adminServer.maxConnections = ADMIN_MAX_CONNECTIONS;

  const publicPort = await listen(publicServer, 'public', config.listen.host, config.listen.port, events);
  const adminPort = await listen(adminServer, 'admin', config.admin.host, config.admin.port, events).catch((error) => {
    publicServer.close();
    void tracing?.shutdown(0);
    throw error;
  });
  await supervisor.startAll();

  let stopped: Promise<void> | undefined;
  const step = (name: string, fields: Record<string, unknown> = {}) => events.emit('shutdown-step', { step: name, ...fields });

  async function gracefulStop(): Promise<void> {
    const started = Date.now();
    stopping = true;
    step('readyz-unready');
    const { shutdown } = running;
    if (shutdown.delaySeconds > 0) {
      step('delay', { seconds: shutdown.delaySeconds });
      await new Promise((resolve) => setTimeout(resolve, shutdown.delaySeconds * 1000));
    }
    let drainMs = drainBudgetMs(running);
    if (cluster) {
      // Peers relay this pod's sessions to it until it stops: it goes on serving them (and
      // anything else that still comes) until it holds none, or its drain is nearly spent.
      const tailMs = Math.min(DRAIN_TAIL_MS, drainMs / 4);
      const sessionsMs = drainMs - tailMs;
      const sessions = () => routing.affinity.stats().reduce((sum, table) => sum + table.tracked, 0);
      step('drain-sessions', { sessions: sessions(), budgetSeconds: sessionsMs / 1000 });
      const started = Date.now();
      await waitUntil(() => proxy.inFlight === 0 && sessions() === 0, sessionsMs, 50);
      drainMs = Math.max(tailMs, drainMs - (Date.now() - started));
    }
    step('stop-accepting');
    const closed = new Promise((resolve) => publicServer.close(resolve));
    publicServer.closeIdleConnections();
    step('drain', { inFlight: proxy.inFlight, budgetSeconds: drainMs / 1000 });
    const drained = await waitUntil(() => {
      publicServer.closeIdleConnections();
      return proxy.inFlight === 0;
    }, drainMs, 50);
    if (!drained) step('drain-timeout', { cut: proxy.inFlight });
    publicServer.closeAllConnections();
    proxy.close();
    keySets.close();
    await closed;
    // The proxy has drained: its last spans are ended, and go out while the children stop.
    const flushed = flushTraces(started);
    step('stop-children');
    await Promise.all([supervisor.stopAll(), flushed]);
    adminServer.closeAllConnections();
    await new Promise((resolve) => adminServer.close(resolve));
    step('stopped', { seconds: (Date.now() - started) / 1000 });
  }

  /** The tracer's last export, within what the stop's budget has left (and never past its export timeout). */
  function flushTraces(started: number): Promise<void> {
    if (!tracing || !traced.settings) return Promise.resolve();
    const leftMs = stopBudgetMs(running) - (Date.now() - started) - FLUSH_MARGIN_MS;
    const budgetMs = Math.max(0, Math.min(traced.settings.queue.exportTimeoutMillis, leftMs));
    step('flush-traces', { budgetSeconds: budgetMs / 1000 });
    return tracing.shutdown(budgetMs);
  }

  async function forceStop(): Promise<void> {
    stopping = true;
    step('force');
    publicServer.closeAllConnections();
    adminServer.closeAllConnections();
    publicServer.close();
    adminServer.close();
    proxy.close();
    keySets.close();
    await supervisor.killAll();
  }

  function reload(next: Config, trigger: string): ReloadResult {
    const refuse = (problems: readonly ConfigProblem[]): ReloadResult => {
      events.emit('reload-failed', { trigger, problems });
      return { ok: false, problems };
    };
    if (stopping) return refuse([{ path: '', message: 'mcpmux is stopping' }]);
    const { actions, refused } = diffConfigs(running, next);
    if (refused.length > 0) return refuse(refused);
    // (listen, admin and affinity are unchanged: the diff refuses any change to them.)
    running = next;
    bridged.clear();
    for (const s of next.servers) if (s.transport === 'stdio') bridged.add(s.name);
    // Routes first: a new server's route answers 503 until it is ready, a removed one's 404.
    routing.setServers(next.servers);
    for (const change of actions) {
      if (change.action === 'start') void supervisor.add(change.server);
      else if (change.action === 'remove') void supervisor.remove(change.name).then(() => {
        // Unless a later reload brought a server of that name back.
        if (!supervisor.get(change.name)) metrics.removeServer(change.name);
      });
      else if (change.action === 'update') supervisor.get(change.server.name)?.updateConfig(change.server);
      else if (change.action === 'scale') void supervisor.get(change.server.name)?.scale(change.server);
      // While a rollout of the server runs, this one waits for it (never refused, never lost).
      else void supervisor.get(change.server.name)?.queueRollout(change.server, `reload (${trigger})`);
    }
    events.emit('reload-applied', {
      trigger,
      actions: actions.map((a) => (a.action === 'remove' ? { server: a.name, action: a.action } : a.action === 'start' ? { server: a.server.name, action: a.action } : { server: a.server.name, action: a.action, fields: a.fields })),
    });
    return { ok: true };
  }

  return {
    events,
    supervisor,
    publicPort,
    adminPort,
    reload,
    async rollout(name) {
      const server = supervisor.get(name);
      if (!server || stopping) return undefined;
      return server.rollout();
    },
    stop() {
      stopped ??= (async () => {
        // The whole stop is bounded: past delaySeconds + gracePeriodSeconds, everything left is killed.
        const budgetMs = stopBudgetMs(running);
        let timer: NodeJS.Timeout | undefined;
        const overrun = new Promise<'overrun'>((resolve) => (timer = setTimeout(() => resolve('overrun'), budgetMs)));
        const outcome = await Promise.race([gracefulStop(), overrun]);
        clearTimeout(timer);
        if (outcome === 'overrun') {
          step('grace-exceeded', { seconds: budgetMs / 1000 });
          await forceStop();
        }
      })();
      return stopped;
    },
    forceStop,
  };
}

/** The whole graceful stop's budget: delaySeconds + gracePeriodSeconds. */
function stopBudgetMs(config: Pick<Config, 'shutdown'>): number {
  return (config.shutdown.delaySeconds + config.shutdown.gracePeriodSeconds) * 1000;
}

/**
 * How long in-flight requests may drain: what the budget leaves after the slowest child's
 * terminationGracePeriodSeconds, but never less than half the budget.
 */
export function drainBudgetMs(config: Pick<Config, 'shutdown' | 'servers'>): number {
  const budgetMs = config.shutdown.gracePeriodSeconds * 1000;
  const childGraceMs = Math.max(0, ...config.servers.map((s) => s.terminationGracePeriodSeconds * 1000));
  return Math.max(budgetMs - childGraceMs, budgetMs / 2);
}

/**
 * maxConnections, lowered to what the open-file limit holds (with a warning): past it, accepts and
 * connects to children would fail with EMFILE, and /healthz with them.
 */
function fitConnections(maxConnections: number, servers: number, log: Logger): number {
  let limitsText = '';
  try {
    limitsText = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return maxConnections;
  }
  const fileLimit = readOpenFileLimit(limitsText);
  const { fits, reserved } = fitConnectionsToFiles(maxConnections, fileLimit, servers);
  if (fits < maxConnections) {
    log.warn(
      { maxConnections, fileLimit, reserved, lowered: fits },
      `the open-file limit (${fileLimit}) cannot hold listen.limits.maxConnections (${maxConnections}): each takes two descriptors; using ${fits}. Raise the limit (ulimit -n) to keep ${maxConnections}`,
    );
  }
  return fits;
}

function listen(server: http.Server, name: 'public' | 'admin', host: string, port: number, events: Events): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (cause) => reject(new ListenError(name, `${host}:${port}`, { cause })));
    server.listen({ host, port }, () => {
      const bound = (server.address() as AddressInfo).port;
      events.emit('listening', { listener: name, host, port: bound });
      resolve(bound);
    });
  });
}
