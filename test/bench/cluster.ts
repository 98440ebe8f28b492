/**
 * The cluster row of `npm run bench`: what sessions across pods cost. Three mcpmux pods (network
 * namespaces on a bridge, as test/integration/cluster.test.ts makes them; loopback addresses where
 * namespaces cannot be made), each with one stateful bench child, behind nginx balancing plain
 * round robin, against one of the same pods behind the same nginx configuration. With one pod every
 * call is served where its session lives; with three, nginx sends (N−1)/N of a session's calls to
 * a pod that relays them to the owner.
 *
 * Interleaved over rounds, with the session-aware load generator (bench/sessions.ts): tools/call at
 * 1 session and at 16 concurrent sessions, each call checked against its own result; the CPU all
 * the mcpmux processes used per call (children excluded); and the share of calls relayed, from
 * mcpmux_sessions_forwarded_total. From those: the CPU of one relay pass, against one proxy pass.
 * Then autocannon and wrk, two independent load generators, at 16 connections confirm the ratio.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { ensureDebianCommand } from '../helpers/debian.js';
import { cpuSecondsOf } from '../helpers/flood.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { makeTempDir } from '../helpers/paths.js';
import { createPodNetwork, type Pod, type PodPlace } from '../helpers/pods.js';
import { CHILD } from './call.js';
import { driveSessions, median, Session, type DriveResult } from './sessions.js';

const CONNECTIONS = 16;
const KEY = `bench-cluster-key-${process.pid}-${Date.now()}-0123456789abcdef`;

export interface ClusterTargetResult {
  /** `muxCpuUs`: CPU of every pod's mcpmux process (children excluded) per call. */
  one: { rps: number; p50: number; muxCpuUs: number };
  many: { rps: number; p50: number; p99: number; muxCpuUs: number };
  /** The share of calls a pod relayed to another, at 16 sessions. */
  relayed: number;
  errors: number;
}

export interface ClusterResult {
  mode: 'netns' | 'loopback';
  fallback?: string;
  pods: { 'one pod': ClusterTargetResult; 'three pods': ClusterTargetResult };
  /**
   * The CPU a relayed call adds, from the two targets' figures at 1 session (calls one at a time,
   * so no pod batches more than another): (three pods − one pod) / share relayed. It is the relay
   * pass and the mark checked at the owner; `npm run bench:instructions -- --cluster` counts each.
   */
  relayCpuUs: number;
  /** The same load at 16 connections from two other load generators: req/s per target. */
  confirm: Record<'autocannon' | 'wrk', { 'one pod': number; 'three pods': number; errors: number }>;
}

type TargetName = keyof ClusterResult['pods'];

const podConfig = (place: PodPlace) => ({
  listen: { limits: { maxConnections: 20_000 } },
  cluster: { sessionKey: { env: 'MCPMUX_SESSION_KEY' }, advertiseAddress: place.address, peers: place.peers },
  servers: { bench: { command: process.execPath, args: [CHILD], env: { SESSIONS: '1', JSON_RESPONSE: '1' } } },
});


export async function runClusterBench(seconds: number, rounds: number): Promise<ClusterResult> {
  const wrk = ensureDebianCommand('wrk', 'wrk');
  const network = createPodNetwork();
  const nginxes: Nginx[] = [];
  try {
    const pods: Pod[] = [];
    for (let i = 0; i < 3; i++) pods.push(await network.startPod(podConfig, { env: { MCPMUX_SESSION_KEY: KEY }, logLevel: 'warn' }));
    await Promise.all(pods.map((pod) => pod.waitReady()));
    const one = await startNginx([pods[0]!.address], { bench: true });
    const three = await startNginx(pods.map((pod) => pod.address), { bench: true });
    nginxes.push(one, three);
    const targets: Record<TargetName, string> = { 'one pod': `${one.url}/bench/mcp`, 'three pods': `${three.url}/bench/mcp` };

    const muxCpu = () => pods.reduce((sum, pod) => sum + cpuSecondsOf(pod.pid), 0);
    const forwarded = async () => {
      let sum = 0;
      for (const pod of pods) sum += sampleValue(await scrape(pod.adminUrl), 'mcpmux_sessions_forwarded_total', { server: 'bench', result: 'forwarded' }) ?? 0;
      return sum;
    };

    const runs: Record<TargetName, ClusterTargetResult[]> = { 'one pod': [], 'three pods': [] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of Object.entries(targets) as [TargetName, string][]) {
        const single = await Session.open(url);
        const [oneCpuBefore, oneForwardedBefore] = [muxCpu(), await forwarded()];
        const oneRun = await driveSessions([single], seconds);
        const [oneCpuAfter, oneForwardedAfter] = [muxCpu(), await forwarded()];
        await single.close();
        const sessions = await Promise.all(Array.from({ length: CONNECTIONS }, () => Session.open(url)));
        await driveSessions(sessions, 0.3);
        const [cpuBefore, forwardedBefore] = [muxCpu(), await forwarded()];
        const many: DriveResult = await driveSessions(sessions, seconds);
        const [cpuAfter, forwardedAfter] = [muxCpu(), await forwarded()];
        await Promise.all(sessions.map((s) => s.close()));
        runs[name].push({
          one: { rps: oneRun.rps, p50: oneRun.p50, muxCpuUs: ((oneCpuAfter - oneCpuBefore) / oneRun.calls) * 1e6 },
          many: { rps: many.rps, p50: many.p50, p99: many.p99, muxCpuUs: ((cpuAfter - cpuBefore) / many.calls) * 1e6 },
          relayed: (oneForwardedAfter - oneForwardedBefore + forwardedAfter - forwardedBefore) / (oneRun.calls + many.calls),
          errors: oneRun.errors + many.errors,
        });
      }
    }
    const summary = (list: ClusterTargetResult[]): ClusterTargetResult => {
      const m = (pick: (r: ClusterTargetResult) => number) => median(list.map(pick));
      return {
        one: { rps: m((r) => r.one.rps), p50: m((r) => r.one.p50), muxCpuUs: m((r) => r.one.muxCpuUs) },
        many: { rps: m((r) => r.many.rps), p50: m((r) => r.many.p50), p99: m((r) => r.many.p99), muxCpuUs: m((r) => r.many.muxCpuUs) },
        relayed: m((r) => r.relayed),
        errors: list.reduce((s, r) => s + r.errors, 0),
      };
    };
    const result = { 'one pod': summary(runs['one pod']), 'three pods': summary(runs['three pods']) };
    // Per call, three pods do one proxy pass at the owner, plus a relay pass on the calls relayed.
    const relayCpuUs = (result['three pods'].one.muxCpuUs - result['one pod'].one.muxCpuUs) / result['three pods'].relayed;

    const confirm: ClusterResult['confirm'] = { autocannon: { 'one pod': 0, 'three pods': 0, errors: 0 }, wrk: { 'one pod': 0, 'three pods': 0, errors: 0 } };
    const confirmRuns = { autocannon: { 'one pod': [] as number[], 'three pods': [] as number[] }, wrk: { 'one pod': [] as number[], 'three pods': [] as number[] } };
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of Object.entries(targets) as [TargetName, string][]) {
        const sessions = await Promise.all(Array.from({ length: CONNECTIONS }, () => Session.open(url)));
        const a = await autocannonRun(url, sessions, seconds);
        confirmRuns.autocannon[name].push(a.rps);
        confirm.autocannon.errors += a.errors;
        const w = wrkRun(wrk, url, sessions, seconds);
        confirmRuns.wrk[name].push(w.rps);
        confirm.wrk.errors += w.errors;
        await Promise.all(sessions.map((s) => s.close()));
      }
    }
    for (const tool of ['autocannon', 'wrk'] as const) for (const name of ['one pod', 'three pods'] as const) confirm[tool][name] = median(confirmRuns[tool][name]);
    return { mode: network.mode, ...(network.fallback ? { fallback: network.fallback } : {}), pods: result, relayCpuUs, confirm };
  } finally {
    for (const nginx of nginxes) await nginx.stop();
    await network.close();
  }
}

/** autocannon at one connection per session, each connection sending its session's id. */
async function autocannonRun(url: string, sessions: readonly Session[], seconds: number): Promise<{ rps: number; errors: number }> {
  let next = 0;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } });
  const r = await autocannon({
    url,
    method: 'POST',
    body,
    connections: sessions.length,
    duration: seconds,
    setupClient: (client) => client.setHeaders({ ...sessions[next++ % sessions.length]!.headers }),
  });
  return { rps: r.requests.average, errors: r.errors + r.non2xx };
}

/**
 * wrk at 16 connections over 2 threads: each thread's connections share one session (a script's
 * request is per thread), and every request has an id of its own, as a session's concurrent
 * requests must.
 */
function wrkRun(wrk: string, url: string, sessions: readonly Session[], seconds: number): { rps: number; errors: number } {
  const script = path.join(makeTempDir('mcpmux-bench-wrk-'), 'session.lua');
  const headers = (s: Session) => `{ ${Object.entries(s.headers).map(([k, v]) => `["${k}"] = "${v}"`).join(', ')} }`;
  writeFileSync(script, `
local sessions = { ${sessions.slice(0, 2).map(headers).join(', ')} }
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end
local n = 0
function request()
  n = n + 1
  local body = '{"jsonrpc":"2.0","id":' .. n .. ',"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}'
  return wrk.format("POST", nil, sessions[index], body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d\\n", summary.requests, summary.duration, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`);
  const out = execFileSync(wrk, ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, url], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const match = /^RESULT (\d+) (\d+) (\d+)$/m.exec(out);
  if (!match) throw new Error(`wrk printed no result:\n${out}`);
  return { rps: Number(match[1]) / (Number(match[2]) / 1e6), errors: Number(match[3]) };
}

export function printClusterReport(r: ClusterResult): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const [a, b] = [r.pods['one pod'], r.pods['three pods']];
  console.log(`\nsessions across pods (${r.mode === 'netns' ? 'pods in network namespaces' : `pods on loopback addresses: ${r.fallback}`}), nginx round robin in front`);
  console.log('target        1 session req/s  p50 ms  CPU µs   16 sessions req/s  p50 ms  p99 ms  CPU µs   relayed  errors   (CPU: all mcpmux processes, per call)');
  for (const [name, s] of Object.entries(r.pods)) {
    console.log(`${name.padEnd(12)} ${f(s.one.rps).padStart(16)}  ${f(s.one.p50, 2).padStart(6)}  ${f(s.one.muxCpuUs).padStart(6)}   ${f(s.many.rps).padStart(17)}  ${f(s.many.p50, 2).padStart(6)}  ${f(s.many.p99, 2).padStart(6)}  ${f(s.many.muxCpuUs).padStart(6)}   ${f(s.relayed * 100, 1).padStart(6)}%  ${String(s.errors).padStart(6)}`);
  }
  console.log(`three pods vs one: ${f(b.one.rps / a.one.rps, 2)}x req/s and +${f(b.one.p50 - a.one.p50, 2)} ms p50 at 1 session; ${f(b.many.rps / a.many.rps, 2)}x req/s at 16 sessions`);
  console.log(`CPU a relayed call adds (1 session): ${f(r.relayCpuUs)} µs, against ${f(a.one.muxCpuUs)} µs for the whole call on one pod`);
  for (const tool of ['autocannon', 'wrk'] as const) {
    const c = r.confirm[tool];
    console.log(`${tool.padEnd(10)} at 16 connections: one pod ${f(c['one pod'])} req/s, three pods ${f(c['three pods'])} req/s, ${f(c['three pods'] / c['one pod'], 2)}x; ${c.errors} errors`);
  }
}
