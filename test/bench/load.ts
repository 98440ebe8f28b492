/**
 * The bench's load generators for one route, each reporting the same figures: req/s, p50 and p99,
 * and the CPU per request of the processes `cpu()` reads: a timed loop over one keep-alive
 * connection (undici), autocannon, and wrk (Debian), so that a ratio is confirmed by tools that
 * share no code.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { makeTempDir } from '../helpers/paths.js';
import { CALL } from './call.js';

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
  requests: number;
  errors: number;
}

const oneConnection = new Agent({ connections: 1, pipelining: 1 });

/** One keep-alive connection, one request at a time, for `seconds` or until `left()` says no more. */
export async function timedLoop(url: string, headers: () => Record<string, string>, seconds: number, left: () => number, cpu: () => number): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = cpu();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline && left() > 0) {
    const t = performance.now();
    const res = await request(url, { method: 'POST', headers: headers(), body: CALL, dispatcher: oneConnection });
    await res.body.dump();
    if (res.statusCode !== 200) errors += 1;
    latencies.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  const used = cpu() - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), cpuUsPerRequest: latencies.length ? (used / latencies.length) * 1e6 : 0, requests: latencies.length, errors };
}

/**
 * autocannon at `connections`. `perRequest`: the headers are made anew for every request (another
 * token each time), else once. `amount`: at most this many requests (then not timed).
 */
export async function cannon(url: string, connections: number, headers: () => Record<string, string>, perRequest: boolean, seconds: number, amount: number, cpu: () => number): Promise<Load> {
  const cpuBefore = cpu();
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    ...(Number.isFinite(amount) ? { amount: Math.max(connections, amount - connections) } : {}),
    method: 'POST',
    body: CALL,
    ...(perRequest ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, headers: headers() }) }] } : { headers: headers() }),
  });
  const used = cpu() - cpuBefore;
  const total = r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUsPerRequest: total ? (used / total) * 1e6 : 0, requests: total, errors: r.errors + r.non2xx };
}

/** A wrk run at `connections` (1 thread for 1 connection, else 2): the same call with fixed headers, one script for every run. */
export function wrkWith(wrk: string) {
  const script = path.join(makeTempDir('mcpmux-bench-wrk-'), 'call.lua');
  writeFileSync(script, `
wrk.method = "POST"
wrk.body = '${CALL}'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`);
  return (url: string, connections: number, headers: Record<string, string>, seconds: number, cpu: () => number): Load => {
    const cpuBefore = cpu();
    const args = [`-t${connections === 1 ? 1 : 2}`, `-c${connections}`, `-d${seconds}s`, '-s', script, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
    let out: string;
    try {
      out = execFileSync(wrk, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { status?: number | null; signal?: string | null; stderr?: string };
      throw new Error(`wrk ${connections === 1 ? 'at 1 connection' : `at ${connections} connections`} failed (${e.code ?? `status ${e.status}, signal ${e.signal}`}): ${e.stderr ?? ''}`.trim(), { cause: error });
    }
    const used = cpu() - cpuBefore;
    const match = /^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
    if (!match) throw new Error(`wrk printed no result:\n${out}`);
    const [requests, durationUs, errors, p50, p99] = match.slice(1).map(Number) as [number, number, number, number, number];
    return { rps: requests / (durationUs / 1e6), p50: p50 / 1000, p99: p99 / 1000, cpuUsPerRequest: requests ? (used / requests) * 1e6 : 0, requests, errors };
  };
}

