/**
 * The tracing row of `npm run bench`: what tracing costs a request, with autocannon (and wrk as a
 * second opinion) confirming the instruction counts of `bench:instructions -- --tracing`. Three
 * mcpmux, each with its own bench child, run side by side: tracing `off`, `on` with every trace
 * sampled (ratio 1), both taking the same calls, each with a sampled client traceparent, and
 * `sampled 1 %` (no client traceparent; ratio 0.01). The two that trace export to a collector of the bench's own that takes
 * every export (what a collector costs is not mcpmux's). They are driven in turn, interleaved over
 * rounds, at 50 connections; mcpmux's CPU per request is read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianCommand } from '../helpers/debian.js';
import { cpuSecondsOf } from '../helpers/flood.js';
import { startStatusCollector } from '../helpers/otlp.js';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CHILD, MCP_HEADERS } from './call.js';
import { cannon, wrkWith, type Load } from './load.js';
import { median } from './sessions.js';

export const TRACING_TARGETS = ['off', 'on', 'sampled 1 %'] as const;
type Target = (typeof TRACING_TARGETS)[number];

export interface TracingResult {
  /** Medians over the rounds (autocannon, 50 connections). */
  load: Record<Target, Load>;
  /** wrk, 50 connections, CPU per request pooled over the rounds. */
  wrk: Record<Target, Load>;
  /** CPU per request against `off`: the median of the rounds' ratios (autocannon), and wrk's pooled. */
  cpuRatio: Record<'on' | 'sampled 1 %', { autocannon: number; wrk: number }>;
  /** Exports the bench's collector took. */
  exports: number;
  errors: number;
}

const SAMPLED = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

export async function runTracingBench(seconds: number, rounds: number): Promise<TracingResult> {
  const wrk = wrkWith(ensureDebianCommand('wrk', 'wrk'));
  const collector = await startStatusCollector(200);
  const endpoint = collector.url;
  const dir = makeTempDir('mcpmux-bench-tracing-');
  const started: { target: Target; proc: ChildProcess; url: string; headers: Record<string, string> }[] = [];
  try {
    for (const target of TRACING_TARGETS) {
      const tracing = target === 'off' ? undefined : { endpoint, sampler: { ratio: target === 'on' ? 1 : 0.01 } };
      const [port, admin] = [await freePort(), await freePort()];
      const file = path.join(dir, `${port}.json`);
      writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1', limits: { maxConnections: 20_000 } }, ...(tracing && { tracing }), servers: { bench: { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } } } }));
      const proc = spawn(process.execPath, [MAIN, '--config', file, '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
      started.push({ target, proc, url: `http://127.0.0.1:${port}/bench/mcp`, headers: target === 'sampled 1 %' ? MCP_HEADERS : { ...MCP_HEADERS, ...SAMPLED } });
      const deadline = Date.now() + 30_000;
      while ((await fetch(`http://127.0.0.1:${admin}/readyz`).then((r) => r.status, () => 0)) !== 200) {
        if (Date.now() > deadline) throw new Error(`mcpmux (${target}) did not turn ready`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    // Warm-up: the JIT of each.
    for (const s of started) await cannon(s.url, 50, () => s.headers, false, 1, Infinity, () => cpuSecondsOf(s.proc.pid!));
    const runs = Object.fromEntries(TRACING_TARGETS.map((t) => [t, [] as Load[]])) as Record<Target, Load[]>;
    const wrkRuns = Object.fromEntries(TRACING_TARGETS.map((t) => [t, [] as Load[]])) as Record<Target, Load[]>;
    for (let round = 0; round < rounds; round++) {
      for (const s of started) runs[s.target].push(await cannon(s.url, 50, () => s.headers, false, seconds, Infinity, () => cpuSecondsOf(s.proc.pid!)));
      for (const s of started) wrkRuns[s.target].push(wrk(s.url, 50, s.headers, Math.max(1, Math.round(seconds / 2)), () => cpuSecondsOf(s.proc.pid!)));
    }
    const summarise = (list: Load[]): Load => ({
      rps: median(list.map((r) => r.rps)), p50: median(list.map((r) => r.p50)), p99: median(list.map((r) => r.p99)), cpuUsPerRequest: median(list.map((r) => r.cpuUsPerRequest)),
      requests: list.reduce((n, r) => n + r.requests, 0), errors: list.reduce((n, r) => n + r.errors, 0),
    });
    const pooled = (list: Load[]): Load => {
      const requests = list.reduce((n, r) => n + r.requests, 0);
      return { ...summarise(list), cpuUsPerRequest: requests ? list.reduce((n, r) => n + r.cpuUsPerRequest * r.requests, 0) / requests : 0 };
    };
    const ratio = (target: 'on' | 'sampled 1 %') => ({
      autocannon: median(runs[target].map((r, i) => r.cpuUsPerRequest / runs.off[i]!.cpuUsPerRequest)),
      wrk: pooled(wrkRuns[target]).cpuUsPerRequest / pooled(wrkRuns.off).cpuUsPerRequest,
    });
    const all = [...Object.values(runs), ...Object.values(wrkRuns)].flat();
    return {
      load: Object.fromEntries(TRACING_TARGETS.map((t) => [t, summarise(runs[t])])) as Record<Target, Load>,
      wrk: Object.fromEntries(TRACING_TARGETS.map((t) => [t, pooled(wrkRuns[t])])) as Record<Target, Load>,
      cpuRatio: { on: ratio('on'), 'sampled 1 %': ratio('sampled 1 %') },
      exports: collector.requests(),
      errors: all.reduce((n, r) => n + r.errors, 0),
    };
  } finally {
    for (const s of started) s.proc.kill('SIGTERM');
    await Promise.all(started.map((s) => new Promise((resolve) => (s.proc.exitCode !== null ? resolve(undefined) : s.proc.once('exit', resolve)))));
    await collector.stop();
  }
}

export function printTracingReport(r: TracingResult): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('\nTracing (50 connections; mcpmux CPU per request from /proc; ratios against off: autocannon the median of the rounds, wrk pooled)');
  console.log('target        load gen     req/s  p50 ms  p99 ms  CPU µs/req  vs off CPU');
  for (const target of TRACING_TARGETS) {
    for (const [gen, s] of [['autocannon', r.load[target]], ['wrk', r.wrk[target]]] as const) {
      const vs = target === 'off' ? 1 : r.cpuRatio[target][gen];
      console.log(`${target.padEnd(12)}  ${gen.padEnd(10)} ${f(s.rps).padStart(7)}  ${f(s.p50, 2).padStart(6)}  ${f(s.p99, 2).padStart(6)}  ${f(s.cpuUsPerRequest).padStart(10)}  ${f(vs, 3).padStart(9)}x`);
    }
  }
  console.log(`the collector took ${r.exports} exports; ${r.errors} errors`);
}
