/**
 * Every Prometheus metric mcpmux exposes, defined in this one file. Metrics subscribe to lifecycle
 * events; the code that emits them does not know this file exists. Label values stay bounded:
 * server names, HTTP methods, status codes, probe roles, exit reasons and error kinds — never
 * paths, session ids or URLs.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Events, McpCall } from '../events.js';
import { SeriesHistogram, type HistogramSeries } from './histogram.js';
import { CpuTotal, sampleProcessGroups } from '../supervisor/resources.js';
import type { BridgeStatus } from '../bridge/server.js';
import type { BridgeStatusReader } from './bridge-status.js';
import { registerClusterMetrics } from './cluster-metrics.js';
import { DURATION_BUCKETS, MCP_NAMES_PER_SERVER } from './metric-bounds.js';
import { registerAuthMetrics } from './auth-metrics.js';
import { registerTracingMetrics } from './tracing-metrics.js';
import type { SpanStats } from '../tracing/start.js';

const PROBE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const KNOWN_METHODS = new Set(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);

/** What the gauges read of each server at scrape time: its processes (all replicas, draining ones too) and replicas. */
export interface ServerProcesses {
  readonly name: string;
  readonly pid: number | null;
  readonly processes?: readonly { readonly replica?: number | undefined; readonly pid: number; readonly inFlight: number; readonly sessions: number }[];
  readonly replicas?: readonly { readonly replica: number; readonly ready: boolean; readonly restarts: number }[];
}
export type ProcessSource = () => readonly ServerProcesses[];

/** Every live pid of a server, with its replica: its processes, or its one pid. */
function livePids(server: ServerProcesses): { pid: number; replica: number }[] {
  if (server.processes) return server.processes.map((p) => ({ pid: p.pid, replica: p.replica ?? 0 }));
  return server.pid === null ? [] : [{ pid: server.pid, replica: 0 }];
}

export interface Metrics {
  readonly registry: Registry;
  /** Deletes every series of a server that is no longer configured. */
  removeServer(name: string): void;
}

/** A server's request series: what is in flight now, and what was answered, per method. */
interface ServerSeries {
  inFlight: number;
  readonly byMethod: Map<string, MethodSeries>;
}
interface MethodSeries {
  /** Answers per status code. */
  readonly codes: Map<number, number>;
  readonly duration: HistogramSeries;
  /** Made at the first answer that had headers. */
  firstByte: HistogramSeries | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export function normalizeMethod(method: string | undefined): string {
  return method && KNOWN_METHODS.has(method) ? method : 'other';
}

/** Counts kept elsewhere, read at scrape time. */
export interface MetricSources {
  readonly openConnections?: () => number;
  readonly droppedLogRecords?: (() => number) | undefined;
  /** The sessions and processes of stdio servers, from their bridges. */
  readonly readBridges?: BridgeStatusReader;
  /** Whether the control socket listens. */
  readonly controlSocket?: (() => { readonly listening: boolean }) | undefined;
  /** Each server's session table (session affinity): its sessions, and what it evicted and refused. */
  readonly sessionTables?: () => readonly SessionTableCounts[];
  /** Sessions across pods are on (`cluster`): their relay metrics. */
  readonly cluster?: boolean;
  /** Tracing is on: what became of its spans (exported, failed, dropped). */
  readonly tracing?: (() => SpanStats) | undefined;
}

/** One server's session table, as routing/sessions.ts reports it. */
export interface SessionTableCounts {
  readonly server: string;
  readonly tracked: number;
  readonly evicted: Readonly<Record<'client_share' | 'server_full', number>>;
  readonly refused: number;
}

export function createMetrics(events: Events, processes: ProcessSource, sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  // With tracing on, /metrics is OpenMetrics, the format that carries exemplars (histogram.ts).
  if (sources.tracing) (registry as unknown as Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  // The request metrics are counted per request into series made once per (server, method), and
  // handed to prom-client at scrape time: its per-call label hashing was ~10 % of a proxied request.
  const perServer = new Map<string, ServerSeries>();
  const seriesOf = (server: string): ServerSeries => {
    let series = perServer.get(server);
    if (!series) perServer.set(server, (series = { inFlight: 0, byMethod: new Map() }));
    return series;
  };
  const requests = new Counter({
    name: 'mcpmux_requests_total',
    help: "Requests answered on the public listener, by server, method and status code (a request relayed to its session's owner pod is counted there).",
    labelNames: ['server', 'method', 'code'],
    registers,
    collect() {
      this.reset();
      for (const [server, { byMethod }] of perServer) {
        for (const [method, { codes }] of byMethod) for (const [code, count] of codes) this.inc({ server, method, code: String(code) }, count);
      }
    },
  });
  const duration = new SeriesHistogram('mcpmux_request_duration_seconds', 'Time from a request to the end of its response; for SSE, until the stream ends.', DURATION_BUCKETS, registers);
  const firstByte = new SeriesHistogram('mcpmux_request_first_byte_seconds', 'Time from a request to its response headers, so that long streams do not hide latency.', DURATION_BUCKETS, registers);
  const methodSeries = (server: string, method: string): MethodSeries => {
    const { byMethod } = seriesOf(server);
    let series = byMethod.get(method);
    if (!series) {
      const labels = { server, method };
      byMethod.set(method, (series = { codes: new Map(), duration: duration.series(labels), firstByte: undefined, labels }));
    }
    return series;
  };
  const inFlight = new Gauge({
    name: 'mcpmux_requests_in_flight',
    help: 'Requests being forwarded to a server now, open streams included.',
    labelNames: ['server'],
    registers,
    collect() {
      this.reset();
      for (const [server, series] of perServer) if (server !== '') this.set({ server }, series.inFlight);
    },
  });
  const up = new Gauge({ name: 'mcpmux_server_up', help: '1 while a process of the server is running.', labelNames: ['server'], registers, collect() {
    this.reset();
    for (const server of processes()) this.set({ server: server.name }, livePids(server).length > 0 ? 1 : 0);
  } });
  registerReplicaMetrics(registers, processes);
  const ready = new Gauge({ name: 'mcpmux_server_ready', help: '1 while the server is ready and its route takes traffic.', labelNames: ['server'], registers });
  const restarts = new Counter({ name: 'mcpmux_server_restarts_total', help: 'Restarts of a server, by why its last process ended.', labelNames: ['server', 'reason'], registers });
  const probeDuration = new Histogram({ name: 'mcpmux_probe_duration_seconds', help: 'Time one probe took, by probe (startup, readiness, liveness).', labelNames: ['server', 'probe'], buckets: PROBE_BUCKETS, registers });
  const probeFailures = new Counter({ name: 'mcpmux_probe_failures_total', help: 'Probes that failed, by probe (startup, readiness, liveness).', labelNames: ['server', 'probe'], registers });
  const upstreamErrors = new Counter({ name: 'mcpmux_upstream_errors_total', help: 'Forwarding failures, by kind (connect, reset, timeout, other).', labelNames: ['server', 'kind'], registers });

  const outputDropped = new Counter({ name: 'mcpmux_server_output_dropped_lines_total', help: "Lines of a server's stdout and stderr dropped over its budget of lines.", labelNames: ['server'], registers });
  const connectionsClosed = new Counter({
    name: 'mcpmux_connections_closed_total',
    help: 'Public connections mcpmux refused or closed to keep its limits, by reason (full, per-client, idle, pipelined).',
    labelNames: ['reason'],
    registers,
  });
  const mcp = registerMcpMetrics(registers);
  // As Prometheus names its own: the config in force counts as a successful load at start.
  const reloadOk = new Gauge({ name: 'mcpmux_config_last_reload_successful', help: 'Whether the last config reload succeeded (1) or changed nothing because it failed (0).', registers });
  const reloadAt = new Gauge({ name: 'mcpmux_config_last_reload_success_timestamp_seconds', help: 'When the config in force was loaded: at start, or by the last successful reload.', registers });
  reloadOk.set(1);
  reloadAt.set(Date.now() / 1000);
  events.on('reload-applied', () => {
    reloadOk.set(1);
    reloadAt.set(Date.now() / 1000);
  });
  events.on('reload-failed', () => reloadOk.set(0));
  const rollouts = new Counter({ name: 'mcpmux_rollouts_total', help: 'Rollouts of a server onto a new process, by result (ok: the new process took over; failed: the old one kept serving).', labelNames: ['server', 'result'], registers });
  events.on('rollout-finished', ({ server, ok }) => rollouts.inc({ server, result: ok ? 'ok' : 'failed' }));
  const { openConnections, droppedLogRecords, readBridges, sessionTables, controlSocket } = sources;
  if (sources.cluster) registerClusterMetrics(registers, events);
  registerAuthMetrics(registers, events);
  if (sources.tracing) registerTracingMetrics(registers, sources.tracing);
  if (controlSocket) {
    new Gauge({ name: 'mcpmux_control_socket_listening', help: 'Whether the control socket (mcpmux rollout, mcpmux reload) listens (1), or mcpmux started without one (0: the log and /status say why).', registers, collect() {
      this.set(controlSocket().listening ? 1 : 0);
    } });
  }
  if (sessionTables) registerSessionTableMetrics(registers, sessionTables);
  if (readBridges) registerBridgeMetrics(registers, readBridges);
  if (openConnections) {
    new Gauge({ name: 'mcpmux_connections_open', help: 'Connections open on the public listener.', registers, collect() {
      this.set(openConnections());
    } });
  }
  new Counter({ name: 'mcpmux_log_records_dropped_total', help: "mcpmux's own log records dropped because stdout could not keep up.", registers, collect() {
    this.reset();
    this.inc(droppedLogRecords?.() ?? 0);
  } });

  registerResourceMetrics(registers, processes);

  for (const { name } of processes()) {
    ready.set({ server: name }, 0);
    seriesOf(name);
  }
  events.on('state-changed', ({ server, to }) => ready.set({ server }, to === 'ready' ? 1 : 0));
  events.on('restart-scheduled', ({ server, reason }) => restarts.inc({ server, reason }));
  events.on('probe-result', ({ server, role, outcome, durationMs }) => {
    probeDuration.observe({ server, probe: role }, durationMs / 1000);
    if (outcome === 'failure') probeFailures.inc({ server, probe: role });
  });
  events.on('upstream-error', ({ server, kind }) => upstreamErrors.inc({ server, kind }));
  events.on('output-dropped', ({ server, lines }) => outputDropped.inc({ server }, lines));
  events.on('connection-closed', ({ reason }) => connectionsClosed.inc({ reason }));
  events.on('request-started', ({ server }) => void (seriesOf(server).inFlight += 1));
  events.on('request-finished', (record) => {
    const { server, method, status, durationMs, firstByteMs, forwarded } = record;
    // Relayed to its session's owner pod: counted there (cluster-metrics.ts).
    if (record.owner !== undefined) return;
    const series = methodSeries(server, normalizeMethod(method));
    series.codes.set(status, (series.codes.get(status) ?? 0) + 1);
    // With tracing on, a sampled request's trace id is its bucket's exemplar.
    series.duration.observe(durationMs / 1000, record.traceId);
    if (firstByteMs !== undefined) (series.firstByte ??= firstByte.series(series.labels)).observe(firstByteMs / 1000, record.traceId);
    if (forwarded) seriesOf(server).inFlight -= 1;
    if (record.mcp) mcp.observe(server, record.mcp, status, record.mcpError ?? '', durationMs);
  });

  return {
    registry,
    removeServer(name) {
      // The request counter and in-flight gauge are rebuilt from perServer at every scrape.
      perServer.delete(name);
      mcp.removeServer(name);
      for (const metric of [ready, restarts, probeDuration, probeFailures, upstreamErrors, outputDropped, rollouts]) {
        removeSeries(metric, name);
      }
      for (const histogram of [duration, firstByte]) histogram.remove((labels) => labels.server === name);
    },
  };
}

/**
 * prom-client removes one exact label set at a time; a server's series span many (method, code,
 * reason, …), so they are found in the metric's own map of series.
 */
function removeSeries(metric: Counter<string> | Gauge<string> | Histogram<string>, server: string): void {
  const series = (metric as unknown as { hashMap: Record<string, { labels: Record<string, string> }> }).hashMap;
  for (const entry of Object.values(series)) {
    if (entry.labels.server === server) metric.remove(entry.labels);
  }
}

/** The session affinity's tables, read at scrape time: one per server. */
function registerSessionTableMetrics(registers: Registry[], read: () => readonly SessionTableCounts[]): void {
  new Gauge({ name: 'mcpmux_sessions_tracked', help: 'Sessions whose process mcpmux remembers (session affinity), per server; bounded by affinity.maxSessions.', labelNames: ['server'], registers, collect() {
    this.reset();
    for (const { server, tracked } of read()) this.set({ server }, tracked);
  } });
  new Counter({
    name: 'mcpmux_sessions_evicted_total',
    help: 'Sessions forgotten to make room for a new one, by reason (client_share: its client was at affinity.maxSessionsPerClient; server_full: the server was at affinity.maxSessions).',
    labelNames: ['server', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const { server, evicted } of read()) for (const [reason, count] of Object.entries(evicted)) this.inc({ server, reason }, count);
    },
  });
  new Counter({ name: 'mcpmux_sessions_refused_total', help: 'New sessions refused (503 sessions_full) because every session that could make room was in use or on a draining process.', labelNames: ['server'], registers, collect() {
    this.reset();
    for (const { server, refused } of read()) this.inc({ server }, refused);
  } });
}

/** stdio servers' sessions and processes, read from their bridges at scrape time. */
function registerBridgeMetrics(registers: Registry[], readBridges: BridgeStatusReader): void {
  const gauge = (name: string, help: string, value: (status: BridgeStatus) => number) =>
    new Gauge({ name, help, labelNames: ['server'], registers, async collect() {
      this.reset();
      for (const [server, status] of await readBridges()) this.set({ server }, value(status));
    } });
  gauge('mcpmux_stdio_sessions', "A stdio server's open sessions.", (s) => s.sessions);
  gauge('mcpmux_stdio_processes', "A stdio server's live processes: its sessions' and the warm ones.", (s) => s.pids.length);
  gauge('mcpmux_stdio_warm_processes', "A stdio server's processes started ahead of their sessions.", (s) => s.warmProcesses);
  new Counter({ name: 'mcpmux_stdio_sessions_opened_total', help: 'Sessions a stdio server opened (since its bridge started).', labelNames: ['server'], registers, async collect() {
    this.reset();
    for (const [server, status] of await readBridges()) this.inc({ server }, status.sessionsOpened);
  } });
  new Counter({ name: 'mcpmux_stdio_sessions_refused_total', help: 'Sessions a stdio server refused (since its bridge started), by reason: sessions_full, client_sessions_full, rate_limited.', labelNames: ['server', 'reason'], registers, async collect() {
    this.reset();
    for (const [server, status] of await readBridges()) for (const [reason, count] of Object.entries(status.sessionsRefusedBy ?? {})) this.inc({ server, reason }, count);
  } });
  new Counter({
    name: 'mcpmux_stdio_sessions_ended_total',
    help: 'Sessions of a stdio server that ended, by reason (deleted, idle, evicted, process-exited, stdout-refused, initialize-timeout, stopped).',
    labelNames: ['server', 'reason'],
    registers,
    async collect() {
      this.reset();
      for (const [server, status] of await readBridges()) for (const [reason, count] of Object.entries(status.sessionsEnded)) this.inc({ server, reason }, count);
    },
  });
}

/** Distinct call names counted per server; past it, a name is counted as `other`. */

interface McpSeries {
  /** Counts by HTTP status and error type, keyed `status error_type`. */
  readonly outcomes: Map<string, number>;
  readonly duration: HistogramSeries;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * MCP calls per server, method and tool (or prompt, or resource) name, from what proxy/mcp-call.ts
 * read of each POST: counted into series made once per label set, handed to prom-client at scrape
 * time. Methods are the spec's (else `other`); names are capped per server.
 */
function registerMcpMetrics(registers: Registry[]) {
  const byServer = new Map<string, { names: Set<string>; calls: Map<string, McpSeries> }>();
  const duration = new SeriesHistogram('mcpmux_mcp_request_duration_seconds', 'Time an MCP call took through mcpmux, by server, JSON-RPC method and tool, prompt or resource name (OpenTelemetry: mcp.server.operation.duration).', DURATION_BUCKETS, registers);
  new Counter({
    name: 'mcpmux_mcp_requests_total',
    help: 'MCP calls answered, by server, JSON-RPC method, tool, prompt or resource name, HTTP status code, and error type (OpenTelemetry error.type: a JSON-RPC error code, tool_error, or empty).',
    labelNames: ['server', 'method', 'name', 'code', 'error_type'],
    registers,
    collect() {
      this.reset();
      for (const { calls } of byServer.values()) {
        for (const { outcomes, labels } of calls.values()) {
          for (const [key, count] of outcomes) {
            const space = key.indexOf(' ');
            this.inc({ ...labels, code: key.slice(0, space), error_type: key.slice(space + 1) }, count);
          }
        }
      }
    },
  });
  return {
    observe(server: string, call: McpCall, status: number, errorType: string, durationMs: number): void {
      let entry = byServer.get(server);
      if (!entry) byServer.set(server, (entry = { names: new Set(), calls: new Map() }));
      let name = call.name ?? '';
      if (name !== '' && !entry.names.has(name)) {
        if (entry.names.size < MCP_NAMES_PER_SERVER) entry.names.add(name);
        else name = 'other';
      }
      const key = `${call.method}\u0000${name}`;
      let series = entry.calls.get(key);
      if (!series) {
        const labels = { server, method: call.method, name };
        entry.calls.set(key, (series = { outcomes: new Map(), duration: duration.series(labels), labels }));
      }
      const outcome = `${status} ${errorType}`;
      series.outcomes.set(outcome, (series.outcomes.get(outcome) ?? 0) + 1);
      series.duration.observe(durationMs / 1000);
    },
    removeServer(server: string): void {
      byServer.delete(server);
      duration.remove((labels) => labels.server === server);
    },
  };
}

/**
 * Memory and CPU of each server's processes (every replica's, draining ones included) with all
 * they started, per server and per replica, sampled in one pass over /proc at scrape time. CPU
 * counters stay monotonic across processes that come and go.
 */
function registerResourceMetrics(registers: Registry[], processes: ProcessSource) {
  const cpuTotals = new Map<string, CpuTotal>();
  const sample = () => {
    const servers = processes().map((server) => ({ name: server.name, pids: livePids(server) }));
    return { servers, groups: sampleProcessGroups(new Set(servers.flatMap((s) => s.pids.map((p) => p.pid)))) };
  };
  let last: ReturnType<typeof sample> | undefined;
  const rss = (groups: ReturnType<typeof sample>['groups'], pids: { pid: number }[]) => pids.reduce((sum, { pid }) => sum + (groups.get(pid) ?? []).reduce((s, p) => s + p.rssBytes, 0), 0);
  const cpu = (key: string, groups: ReturnType<typeof sample>['groups'], pids: { pid: number }[]) => {
    let total = cpuTotals.get(key);
    if (!total) cpuTotals.set(key, (total = new CpuTotal()));
    return total.update(pids.flatMap(({ pid }) => groups.get(pid) ?? []));
  };
  const replicasOf = (pids: { pid: number; replica: number }[]) => {
    const by = new Map<number, { pid: number }[]>();
    for (const p of pids) by.set(p.replica, [...(by.get(p.replica) ?? []), p]);
    return by;
  };
  new Gauge({ name: 'mcpmux_server_resident_memory_bytes', help: "Resident memory of the server's processes (every replica's) and all they started, read at scrape time.", labelNames: ['server'], registers, collect() {
    this.reset();
    last = sample();
    for (const { name, pids } of last.servers) if (pids.length > 0) this.set({ server: name }, rss(last.groups, pids));
  } });
  new Gauge({ name: 'mcpmux_replica_resident_memory_bytes', help: "Resident memory of one replica's processes and all they started.", labelNames: ['server', 'replica'], registers, collect() {
    this.reset();
    const { servers, groups } = last ?? sample();
    for (const { name, pids } of servers) for (const [replica, own] of replicasOf(pids)) this.set({ server: name, replica: String(replica) }, rss(groups, own));
  } });
  new Counter({ name: 'mcpmux_server_cpu_seconds_total', help: "CPU time of the server's processes and all they started, every process it ever ran included.", labelNames: ['server'], registers, collect() {
    const { servers, groups } = last ?? sample();
    this.reset();
    for (const { name, pids } of servers) this.inc({ server: name }, cpu(name, groups, pids));
  } });
  new Counter({ name: 'mcpmux_replica_cpu_seconds_total', help: "CPU time of one replica's processes and all they started, every process it ever ran included.", labelNames: ['server', 'replica'], registers, collect() {
    const { servers, groups } = last ?? sample();
    last = undefined;
    this.reset();
    for (const { name, pids } of servers) for (const [replica, own] of replicasOf(pids)) this.inc({ server: name, replica: String(replica) }, cpu(`${name}\u0000${replica}`, groups, own));
  } });
}

/** Each replica of each server: whether it runs and is ready, its restarts, its requests in flight and its sessions. */
function registerReplicaMetrics(registers: Registry[], processes: ProcessSource) {
  const each = (read: (server: ServerProcesses, replica: number) => number) =>
    function collect(this: Gauge | Counter) {
      this.reset();
      for (const server of processes()) {
        for (const { replica } of server.replicas ?? [{ replica: 0 }]) (this as Gauge).inc({ server: server.name, replica: String(replica) }, read(server, replica));
      }
    };
  const ofReplica = (server: ServerProcesses, replica: number) => (server.processes ?? []).filter((p) => (p.replica ?? 0) === replica);
  new Gauge({ name: 'mcpmux_replica_up', help: '1 while a process of the replica is running.', labelNames: ['server', 'replica'], registers, collect: each((s, r) => (ofReplica(s, r).length > 0 || (!s.processes && s.pid !== null) ? 1 : 0)) });
  new Gauge({ name: 'mcpmux_replica_ready', help: '1 while the replica is ready and takes traffic.', labelNames: ['server', 'replica'], registers, collect: each((s, r) => (s.replicas?.find((x) => x.replica === r)?.ready ? 1 : 0)) });
  new Gauge({ name: 'mcpmux_replica_in_flight', help: "Requests in flight on the replica's processes, open streams included.", labelNames: ['server', 'replica'], registers, collect: each((s, r) => ofReplica(s, r).reduce((n, p) => n + p.inFlight, 0)) });
  new Gauge({ name: 'mcpmux_replica_sessions', help: "Sessions mcpmux routes to the replica's processes.", labelNames: ['server', 'replica'], registers, collect: each((s, r) => ofReplica(s, r).reduce((n, p) => n + p.sessions, 0)) });
  new Counter({ name: 'mcpmux_replica_restarts_total', help: 'Restarts of the replica.', labelNames: ['server', 'replica'], registers, collect: each((s, r) => s.replicas?.find((x) => x.replica === r)?.restarts ?? 0) });
}
