/**
 * `npm run bench`: mcpmux against a direct connection to the same child, and against nginx as an
 * equivalent reverse proxy (installed from Debian when missing), interleaved over rounds in one run.
 * Prints a table and PASS/MISS lines, and writes the results as JSON to test/bench/results/.
 *   --quick       a few seconds per scenario (the test suite runs this)
 *   --stdio       only the stdio row (mcpmux, supergateway, mcp-proxy in front of one stdio server)
 *   --change      only the change rows: SIGHUP to a new server serving, and a rollout under load
 *   --replicas    only the replicas row: 1 against 2 replicas of one server at 50 connections
 *   --cluster     only the cluster row: 3 pods behind nginx round robin against 1, sessions relayed
 *   --oauth       only the OAuth row: an open route against OAuth routes, the token cache warm and cold
 *   --tracing     only the tracing row: tracing off, on (every trace sampled) and 1 % sampled
 *   --out FILE    where the JSON goes (default test/bench/results/<date>.json)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { ensureDebianCommand } from '../helpers/debian.js';
import { cpuSecondsOf } from '../helpers/flood.js';
import { MAIN, makeTempDir, ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CALL, CHILD, FLOOR, MCP_HEADERS } from './call.js';
import { printClusterReport, runClusterBench } from './cluster.js';
import { printChangeReport, runChangeBench } from './change.js';
import { printOAuthReport, runOAuthBench, type OAuthResult } from './oauth.js';
import { printReplicasReport, runReplicasBench } from './replicas.js';
import { printTracingReport, runTracingBench, type TracingResult } from './tracing.js';
import { printStdioReport, runStdioBench } from './stdio.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, stdio: { type: 'boolean', default: false }, change: { type: 'boolean', default: false }, replicas: { type: 'boolean', default: false }, cluster: { type: 'boolean', default: false }, oauth: { type: 'boolean', default: false }, tracing: { type: 'boolean', default: false }, out: { type: 'string' } } });
const quick = flags.quick!;
const SECONDS = quick ? 1 : 5;
const ROUNDS = quick ? 1 : 3;
// The OAuth budget is +10 % CPU per request: more rounds than the others, for a median that noise moves less.
const OAUTH_ROUNDS = quick ? 1 : 5;
const SSE_RUNS = quick ? 2 : 10;
const IDLE_STREAMS = quick ? [100] : [1000, 9000];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const until = async (check: () => Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const answers = async (url: string) => (await fetch(url, { method: 'POST', headers: MCP_HEADERS, body: CALL })).status === 200;

interface Mux { proc: ChildProcess; publicUrl: string; adminUrl: string; }

async function startMux(servers: Record<string, unknown>): Promise<Mux> {
  const dir = makeTempDir('mcpmux-bench-');
  const file = path.join(dir, 'mcpmux.json');
  writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1', limits: { maxConnections: 20000 } }, servers }));
  const [publicPort, adminPort] = [await freePort(), await freePort()];
  // warn: no access log, as nginx runs with access_log off.
  const proc = spawn(process.execPath, [MAIN, '--config', file, '--port', String(publicPort), '--admin-port', String(adminPort), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const mux = { proc, publicUrl: `http://127.0.0.1:${publicPort}`, adminUrl: `http://127.0.0.1:${adminPort}` };
  await until(async () => (await fetch(`${mux.adminUrl}/healthz`)).status === 200);
  return mux;
}

function childServer(jsonResponse: boolean) {
  return { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: jsonResponse ? '1' : '0' } };
}

async function startNginx(jsonPort: number, ssePort: number): Promise<{ proc: ChildProcess; url: string; pids: () => number[] } | undefined> {
  let nginx: string;
  try {
    nginx = ensureDebianCommand('nginx', 'nginx-light');
  } catch {
    return undefined;
  }
  const dir = makeTempDir('mcpmux-bench-nginx-');
  const port = await freePort();
  const location = (name: string, upstream: string) =>
    `location /${name}/ { proxy_pass http://${upstream}/; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_read_timeout 1h; }`;
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error; worker_rlimit_nofile 20000;
events { worker_connections 19000; }
http { access_log off;
  # nginx closes a client connection after 1,000 requests by default; undici's single-connection
  # loop then reconnects for every later request (measured: 1,001 accepts in 2,000 requests), which
  # doubled nginx's cost per request. mcpmux and node:http set no such limit.
  keepalive_requests 1000000;
  upstream json { server 127.0.0.1:${jsonPort}; keepalive 64; }
  upstream sse { server 127.0.0.1:${ssePort}; keepalive 64; }
  server { listen 127.0.0.1:${port}; ${location('json', 'json')} ${location('sse', 'sse')} } }\n`,
  );
  const proc = spawn(nginx, ['-c', path.join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  const pids = () => {
    const kids = execFileSync('sh', ['-c', `pgrep -P ${proc.pid} || true`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return [proc.pid!, ...kids];
  };
  return { proc, url: `http://127.0.0.1:${port}`, pids };
}

interface LoadResult { rps: number; p50: number; p99: number; cpuUsPerRequest?: number; errors: number }

/**
 * Load at `connections`: autocannon for many connections; for one, a timed loop over one
 * keep-alive connection, since autocannon reports latency in whole milliseconds.
 */
async function load(url: string, connections: number, cpuPids: number[] = []): Promise<LoadResult> {
  const before = cpuPids.reduce((s, p) => s + cpuSecondsOf(p), 0);
  let result: Omit<LoadResult, 'cpuUsPerRequest'> & { total: number };
  if (connections === 1) {
    const latencies: number[] = [];
    let errors = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    while (performance.now() < deadline) {
      const t = performance.now();
      const res = await request(url, { method: 'POST', headers: MCP_HEADERS, body: CALL, dispatcher: oneConnection });
      await res.body.dump();
      if (res.statusCode !== 200) errors += 1;
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!;
    result = { rps: latencies.length / ((performance.now() - started) / 1000), p50: at(0.5), p99: at(0.99), errors, total: latencies.length };
  } else {
    const r = await autocannon({ url, connections, duration: SECONDS, method: 'POST', headers: MCP_HEADERS, body: CALL });
    result = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, total: r.requests.total };
  }
  const cpu = cpuPids.reduce((s, p) => s + cpuSecondsOf(p), 0) - before;
  const { total, ...rest } = result;
  return { ...rest, ...(cpuPids.length ? { cpuUsPerRequest: total ? (cpu / total) * 1e6 : 0 } : {}) };
}

const oneConnection = new Agent({ connections: 1, pipelining: 1 });

async function sseTimes(url: string): Promise<{ first: number; last: number }> {
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (let i = 0; i < SSE_RUNS; i++) {
    const started = performance.now();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'stream', arguments: { count: 100, intervalMs: 10 }, _meta: { progressToken: 1 } } });
    const res = await request(url, { method: 'POST', headers: MCP_HEADERS, body });
    let first = 0;
    for await (const chunk of res.body) {
      if (!first && String(chunk).includes('data:')) first = performance.now() - started;
    }
    firsts.push(first);
    lasts.push(performance.now() - started);
  }
  return { first: median(firsts), last: median(lasts) };
}

async function idleStreams(mux: Mux, n: number): Promise<number> {
  const port = Number(new URL(mux.publicUrl).port);
  const before = rssBytes(mux.proc.pid!);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () => new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /sse/hold HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        socket.once('data', () => resolve());
        socket.once('error', reject);
        sockets.push(socket);
      })),
    );
  }
  const perStream = (rssBytes(mux.proc.pid!) - before) / n;
  sockets.forEach((s) => s.destroy());
  await until(async () => !(await fetch(`${mux.adminUrl}/metrics`).then((r) => r.text())).match(/mcpmux_requests_in_flight\{server="sse"\} [1-9]/));
  return perStream;
}

async function main() {
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, quick };
  // One row alone, with its targets when it has some.
  if (flags.stdio) return writeRow(results, 'stdio', await runStdioBench(SECONDS, ROUNDS), printStdioReport);
  if (flags.replicas) return writeRow(results, 'replicas', await runReplicasBench(SECONDS, ROUNDS), printReplicasReport);
  if (flags.cluster) return writeRow(results, 'cluster', await runClusterBench(SECONDS, ROUNDS), printClusterReport);
  if (flags.oauth) return writeRow(results, 'oauth', await runOAuthBench(SECONDS, OAUTH_ROUNDS, quick), printOAuthReport, oauthChecks);
  if (flags.tracing) return writeRow(results, 'tracing', await runTracingBench(SECONDS, ROUNDS), printTracingReport, tracingChecks);
  if (flags.change) return writeRow(results, 'change', await runChangeBench(quick), printChangeReport);
  const mux = await startMux({ json: childServer(true), sse: childServer(false) });
  await until(async () => (await fetch(`${mux.adminUrl}/readyz`)).status === 200);
  const status = (await (await fetch(`${mux.adminUrl}/status`)).json()) as { servers: { name: string; pid: number; port: number }[] };
  const child = Object.fromEntries(status.servers.map((s) => [s.name, s]));
  const nginx = await startNginx(child.json!.port, child.sse!.port);
  if (nginx) await until(async () => answers(`${nginx.url}/json/mcp`));
  const targets: Record<string, { url: (kind: string) => string; cpu: () => number[] }> = {
    direct: { url: (kind) => `http://127.0.0.1:${child[kind]!.port}/mcp`, cpu: () => [] },
    mcpmux: { url: (kind) => `${mux.publicUrl}/${kind}/mcp`, cpu: () => [mux.proc.pid!] },
    ...(nginx ? { nginx: { url: (kind: string) => `${nginx.url}/${kind}/mcp`, cpu: nginx.pids } } : {}),
  };

  // The floor: the least a node:http proxy can do, in front of the JSON child (tools/call only).
  const floorPort = await freePort();
  const floor = spawn(process.execPath, [FLOOR, String(floorPort), String(child.json!.port)], { stdio: 'ignore' });
  const floorUrl = `http://127.0.0.1:${floorPort}/json/mcp`;
  await until(async () => answers(floorUrl));
  const jsonTargets = { ...targets, 'node-floor': { url: (_kind: string) => floorUrl, cpu: () => [floor.pid!] } };

  // tools/call JSON at 1 and 50 connections, interleaved over rounds.
  const json: Record<string, Record<string, LoadResult[]>> = { '1': {}, '50': {} };
  for (let round = 0; round < ROUNDS; round++) {
    for (const connections of [1, 50]) {
      for (const [name, target] of Object.entries(jsonTargets)) {
        (json[connections]![name] ??= []).push(await load(target.url('json'), connections, target.cpu()));
      }
    }
  }
  const summarise = (runs: LoadResult[]) => ({
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    ...(runs[0]!.cpuUsPerRequest !== undefined ? { cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest!)) } : {}),
  });
  const toolsCall = Object.fromEntries(Object.entries(json).map(([c, byTarget]) => [c, Object.fromEntries(Object.entries(byTarget).map(([t, runs]) => [t, summarise(runs)]))]));
  results.toolsCall = toolsCall;

  // 50 connections with mcpmux pinned to the child's core, the load generator on the other.
  const pin = (cpu: string, pid: number) => execFileSync('taskset', ['-apc', cpu, String(pid)], { stdio: 'ignore' });
  let pinned: Record<string, LoadResult> | undefined;
  if (cpus().length >= 2) {
    // Each proxy in turn on the child's core; the others stay there too, idle.
    const proxies = [mux.proc.pid!, floor.pid!, ...(nginx?.pids() ?? [])];
    for (const pid of [...proxies, child.json!.pid]) pin('0', pid);
    pin('1', process.pid);
    pinned = {};
    for (const [name, target] of Object.entries(jsonTargets)) pinned[name] = await load(target.url('json'), 50, target.cpu());
    for (const pid of [...proxies, child.json!.pid, process.pid]) pin(`0-${cpus().length - 1}`, pid);
  }
  results.pinned50 = pinned;

  // SSE: 100 events 10 ms apart.
  const sse = Object.fromEntries(await Promise.all(Object.entries(targets).map(async ([name]) => [name, undefined])));
  for (const [name, target] of Object.entries(targets)) sse[name] = await sseTimes(target.url('sse'));
  results.sse = sse;

  // Idle SSE streams held open through mcpmux.
  const idle: Record<string, number> = {};
  for (const n of IDLE_STREAMS) idle[n] = await idleStreams(mux, n);
  results.idleStreamBytes = idle;

  // kill -9 to serving again, against the child's own cold start.
  const coldStarted = performance.now();
  const port = await freePort();
  const solo = spawn(process.execPath, [CHILD], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  await until(async () => answers(`http://127.0.0.1:${port}/mcp`));
  const childColdStartMs = performance.now() - coldStarted;
  solo.kill('SIGKILL');
  const killed = performance.now();
  process.kill(child.json!.pid, 'SIGKILL');
  await until(async () => (await fetch(`${mux.adminUrl}/status`).then((r) => r.json()) as typeof status).servers.some((s) => s.name === 'json' && s.pid !== child.json!.pid));
  await until(async () => answers(`${mux.publicUrl}/json/mcp`));
  results.recovery = { killToServingMs: performance.now() - killed, childColdStartMs };

  // Cold start of 20 servers to /readyz.
  const coldStart = performance.now();
  const twenty = await startMux(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`s${i}`, childServer(true)])));
  await until(async () => (await fetch(`${twenty.adminUrl}/readyz`)).status === 200, 60_000);
  results.coldStart20Ms = performance.now() - coldStart;
  twenty.proc.kill('SIGTERM');

  mux.proc.kill('SIGTERM');
  nginx?.proc.kill('SIGTERM');
  floor.kill('SIGTERM');

  // Change without downtime: a reload, and a rollout under load.
  results.change = await runChangeBench(quick);
  // One busy server on one process, then on two.
  results.replicas = await runReplicasBench(SECONDS, ROUNDS);

  // A stdio server behind mcpmux and the peers people would otherwise use.
  results.stdio = await runStdioBench(SECONDS, ROUNDS);
  // Sessions across pods: 3 pods behind round robin, most calls relayed, against 1 pod.
  results.cluster = await runClusterBench(SECONDS, ROUNDS);
  // What an access token costs a request: an open route against OAuth routes, the token cache warm and cold.
  results.oauth = await runOAuthBench(SECONDS, OAUTH_ROUNDS, quick);
  // What tracing costs a request: off, on, and 1 % sampled.
  results.tracing = await runTracingBench(SECONDS, ROUNDS);

  const checks = targetChecks(results);
  results.targets = checks;
  printReport(results, checks);
  writeResults(results);
}

/** A row run alone (its --flag): its result under `key`, its report, and its targets' lines when it has targets. */
function writeRow<T>(results: Record<string, unknown>, key: string, result: T, print: (result: T) => void, checks?: (result: T) => Check[]): void {
  results[key] = result;
  print(result);
  if (checks) {
    const targets = checks(result);
    results.targets = targets;
    printChecks(targets);
  }
  writeResults(results);
}

function writeResults(results: Record<string, unknown>): void {
  const out = flags.out ?? path.join(ROOT, 'test/bench/results', `${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(process.cwd(), out)}`);
  process.exit(0);
}

interface Check { name: string; value: number | null; target: string; pass: boolean | null }

function targetChecks(r: Record<string, any>): Check[] {
  const t1 = r.toolsCall['1'];
  const t50 = r.toolsCall['50'];
  const checks: Check[] = [];
  const add = (name: string, value: number | null, target: string, pass: boolean | null) => checks.push({ name, value, target, pass });
  const cpuRatio = t1.nginx ? t1.mcpmux.cpuUsPerRequest / t1.nginx.cpuUsPerRequest : null;
  add('CPU per request vs nginx (1 conn)', cpuRatio, '<= 2.5x', cpuRatio === null ? null : cpuRatio <= 2.5);
  const added = t1.mcpmux.p50 - t1.direct.p50;
  add('p50 added at 1 connection (ms)', added, '<= 0.10 ms', added <= 0.1);
  const spare = t50.mcpmux.rps / t50.direct.rps;
  add('req/s at 50 conns vs direct, spare core', spare, '>= 0.97x', spare >= 0.97);
  const pinned = r.pinned50 ? r.pinned50.mcpmux.rps / r.pinned50.direct.rps : null;
  add('req/s at 50 conns vs direct, pinned to the child core', pinned, '>= 0.80x', pinned === null ? null : pinned >= 0.8);
  const first = r.sse.mcpmux.first / r.sse.direct.first;
  add('SSE first event vs direct', first, '<= 1.2x', first <= 1.2);
  const last = r.sse.mcpmux.last / r.sse.direct.last;
  add('SSE last event vs direct', last, '<= 1.01x', last <= 1.01);
  const biggest = Math.max(...Object.keys(r.idleStreamBytes).map(Number));
  const perStream = r.idleStreamBytes[biggest];
  add(`memory per idle SSE stream (${biggest} streams, bytes)`, perStream, '< 16 KiB', perStream < 16 * 1024);
  const recovery = r.recovery.killToServingMs / r.recovery.childColdStartMs;
  add('kill -9 to serving vs child cold start', recovery, '<= 1.5x', recovery <= 1.5);
  if (r.change) add('failed calls in a rollout at 50 connections', r.change.rollout.failed, '0', r.change.rollout.failed === 0);
  // stdio: ahead of each peer that runs the same process model, on every row but memory per
  // session: isolated sessions against supergateway (a child per session), shared against
  // mcp-proxy (one child for every session). The whole table is printed beside these.
  const stdio = r.stdio;
  for (const [ours, peer] of [['mcpmux', 'supergateway'], ['mcpmux shared', 'mcp-proxy']] as const) {
    if (!stdio?.[peer] || !stdio?.[ours]) continue;
    const a = stdio[ours];
    const b = stdio[peer];
    const ratio = (name: string, x: number, y: number, higherIsBetter: boolean) =>
      add(`stdio ${name}: ${ours} vs ${peer}`, x / y, higherIsBetter ? '>= 1x' : '<= 1x', higherIsBetter ? x >= y : x <= y);
    ratio('req/s, 1 session', a.one.rps, b.one.rps, true);
    ratio('p50, 1 session', a.one.p50, b.one.p50, false);
    ratio('req/s, 20 sessions', a.twenty.rps, b.twenty.rps, true);
    ratio('p50, 20 sessions', a.twenty.p50, b.twenty.p50, false);
    ratio('CPU per call', a.cpuUsPerCall, b.cpuUsPerCall, false);
    ratio('first tool result of a new session', a.firstResultMs, b.firstResultMs, false);
  }
  if (r.oauth) checks.push(...oauthChecks(r.oauth));
  if (r.tracing) checks.push(...tracingChecks(r.tracing));
  return checks;
}

/**
 * The OAuth budget: with the token cache warm, at most +10 % CPU per request over an open route;
 * one key-set fetch serves 10,000 requests (a --quick run sends fewer in all: SKIP). The warm ratio
 * is the median of the row's four: at 1 and 50 connections, by the bench's own load generators and
 * by wrk. Each alone moves by several per cent between runs on this machine.
 */
function oauthChecks(o: OAuthResult): Check[] {
  const ratios = [o.cpuRatio.warm['1'], o.cpuRatio.warm['50'], o.cpuRatio.wrkWarm['1'], o.cpuRatio.wrkWarm['50']].sort((a, b) => a - b);
  const warm = (ratios[1]! + ratios[2]!) / 2;
  const perFetch = o.keySet.requestsPerFetch;
  return [
    { name: 'CPU per request, OAuth route with a warm token cache vs open', value: warm, target: '<= 1.10x', pass: warm <= 1.1 },
    { name: 'requests per key-set fetch', value: perFetch, target: '>= 10000', pass: quick ? null : perFetch >= 10_000 },
  ];
}

/** Tracing on, every trace sampled: at most +15 % CPU per request over off (autocannon's median ratio; wrk is printed beside it). */
function tracingChecks(t: TracingResult): Check[] {
  return [{ name: 'CPU per request, tracing on (every trace sampled) vs off', value: t.cpuRatio.on.autocannon, target: '<= 1.15x', pass: t.cpuRatio.on.autocannon <= 1.15 }];
}

function printChecks(checks: Check[]) {
  const fmt = (n: number | null) => (n === null || Number.isNaN(n) ? '-' : n.toFixed(3));
  for (const c of checks) console.log(`${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${fmt(c.value)} (target ${c.target})`);
}

function printReport(r: Record<string, any>, checks: Check[]) {
  const fmt = (n: number | undefined, d = 2) => (n === undefined || n === null || Number.isNaN(n) ? '-' : n.toFixed(d));
  console.log(`mcpmux bench — ${r.date}, ${r.node}, ${r.cpus} cores${r.quick ? ', QUICK' : ''}\n`);
  console.log('scenario                 target       req/s  p50 ms  p99 ms  vs direct  CPU µs/req');
  for (const c of ['1', '50']) {
    for (const [name, s] of Object.entries<any>(r.toolsCall[c])) {
      console.log(`tools/call ${c.padEnd(2)} conn      ${name.padEnd(10)} ${fmt(s.rps, 0).padStart(8)}  ${fmt(s.p50).padStart(6)}  ${fmt(s.p99).padStart(6)}  ${fmt(s.rps / r.toolsCall[c].direct.rps).padStart(8)}x  ${fmt(s.cpuUsPerRequest, 0).padStart(9)}`);
    }
  }
  if (r.pinned50) for (const [name, s] of Object.entries<any>(r.pinned50)) console.log(`tools/call 50, pinned  ${name.padEnd(10)} ${fmt(s.rps, 0).padStart(8)}  ${fmt(s.p50).padStart(6)}  ${fmt(s.p99).padStart(6)}  ${fmt(s.rps / r.pinned50.direct.rps).padStart(8)}x  ${fmt(s.cpuUsPerRequest, 0).padStart(9)}`);
  for (const [name, s] of Object.entries<any>(r.sse)) console.log(`SSE 100×10 ms           ${name.padEnd(8)} first ${fmt(s.first, 1)} ms, last ${fmt(s.last, 1)} ms`);
  for (const [n, bytes] of Object.entries<any>(r.idleStreamBytes)) console.log(`idle SSE streams ${n.padEnd(6)} mcpmux RSS ${fmt(bytes / 1024, 1)} KiB per stream`);
  console.log(`kill -9 to serving: ${fmt(r.recovery.killToServingMs, 0)} ms (child cold start ${fmt(r.recovery.childColdStartMs, 0)} ms)`);
  console.log(`cold start of 20 servers to /readyz: ${fmt(r.coldStart20Ms, 0)} ms`);
  if (r.change) printChangeReport(r.change);
  if (r.replicas) printReplicasReport(r.replicas);
  console.log('');
  if (r.stdio) printStdioReport(r.stdio);
  if (r.cluster) printClusterReport(r.cluster);
  if (r.oauth) printOAuthReport(r.oauth);
  if (r.tracing) printTracingReport(r.tracing);
  console.log('');
  printChecks(checks);
  const floor1 = r.toolsCall['1']['node-floor'];
  console.log(`INFO  against the node:http floor: CPU per request ${fmt(r.toolsCall['1'].mcpmux.cpuUsPerRequest / floor1.cpuUsPerRequest)}x at 1 conn, ` +
    `p50 added ${fmt(r.toolsCall['1'].mcpmux.p50 - r.toolsCall['1'].direct.p50, 3)} ms (floor ${fmt(floor1.p50 - r.toolsCall['1'].direct.p50, 3)} ms)` +
    (r.pinned50 ? `, pinned ${fmt(r.pinned50.mcpmux.rps / r.pinned50.direct.rps, 3)}x (floor ${fmt(r.pinned50['node-floor'].rps / r.pinned50.direct.rps, 3)}x)` : ''));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
