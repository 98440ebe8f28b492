/**
 * Replicas, measured: tools/call at 50 connections on a server with 1 replica and on the same
 * server with 2, interleaved over rounds in one mcpmux, driven by autocannon. On a machine with
 * as many cores as there are replicas plus mcpmux and the load generator, the ratio shows how far
 * a second process scales a busy server; this repository's 2-core machine shares its cores among
 * all of them, which the report says beside the figure.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CALL, CHILD, MCP_HEADERS } from './call.js';

export interface ReplicasResult {
  readonly cores: number;
  /** req/s per round, for 1 and 2 replicas. */
  readonly one: number[];
  readonly two: number[];
  readonly errors: number;
}

export async function runReplicasBench(seconds: number, rounds: number): Promise<ReplicasResult> {
  const dir = makeTempDir('mcpmux-bench-replicas-');
  const file = path.join(dir, 'mcpmux.json');
  const child = { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } };
  writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1' }, servers: { one: child, two: { ...child, replicas: 2 } } }));
  const [port, adminPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [MAIN, '--config', file, '--port', String(port), '--admin-port', String(adminPort), '--log-level', 'warn', '--control-socket', path.join(dir, 'control.sock')], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const deadline = Date.now() + 30_000;
    while ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('mcpmux did not turn ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const one: number[] = [];
    const two: number[] = [];
    let errors = 0;
    const drive = async (name: string) => {
      const r = await autocannon({ url: `http://127.0.0.1:${port}/${name}/mcp`, method: 'POST', headers: MCP_HEADERS, body: CALL, connections: 50, duration: seconds });
      errors += r.errors + r.non2xx;
      return r.requests.average;
    };
    for (let round = 0; round < rounds; round++) {
      one.push(await drive('one'));
      two.push(await drive('two'));
    }
    return { cores: cpus().length, one, two, errors };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
  }
}

export function printReplicasReport(r: ReplicasResult): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [a, b] = [median(r.one), median(r.two)];
  console.log(`replicas at 50 connections (${r.cores} cores shared by mcpmux, the load generator and the children): 1 replica ${a.toFixed(0)} req/s, 2 replicas ${b.toFixed(0)} req/s, ${(b / a).toFixed(2)}x; ${r.errors} errors`);
}
