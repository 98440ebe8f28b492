/**
 * Change without downtime, measured: the time from SIGHUP to a newly added server answering its
 * first tools/call, and the calls that fail while one server rolls onto a new process under load
 * at 50 connections (the target is none).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import { sendControl } from '../../src/admin/control.js';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CALL, CHILD, MCP_HEADERS } from './call.js';

export interface ChangeResult {
  /** SIGHUP to the new server's first 200, each run. */
  readonly sighupToServingMs: number[];
  readonly rollout: { readonly connections: number; readonly calls: number; readonly failed: number; readonly rolloutMs: number; readonly rpsBefore: number; readonly rpsDuring: number };
}

const child = { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } };

async function poll(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const answers = async (url: string) => {
  const res = await request(url, { method: 'POST', headers: MCP_HEADERS, body: CALL });
  await res.body.dump();
  return res.statusCode === 200;
};

async function startMux(servers: Record<string, unknown>) {
  const dir = makeTempDir('mcpmux-bench-change-');
  const file = path.join(dir, 'mcpmux.json');
  const write = (s: Record<string, unknown>) => writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1' }, servers: s }));
  write(servers);
  const [publicPort, adminPort] = [await freePort(), await freePort()];
  const socket = path.join(dir, 'control.sock');
  const proc: ChildProcess = spawn(process.execPath, [MAIN, '--config', file, '--port', String(publicPort), '--admin-port', String(adminPort), '--log-level', 'warn', '--control-socket', socket], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${publicPort}`;
  await poll(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200);
  return { proc, url, socket, write };
}

export async function runChangeBench(quick: boolean): Promise<ChangeResult> {
  // SIGHUP to serving: a server added to the config, timed until its first answer.
  const sighupToServingMs: number[] = [];
  const mux = await startMux({ json: child });
  try {
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const name = `added${i}`;
      mux.write({ json: child, ...Object.fromEntries(Array.from({ length: i + 1 }, (_, j) => [`added${j}`, child])) });
      const started = performance.now();
      mux.proc.kill('SIGHUP');
      await poll(() => answers(`${mux.url}/${name}/mcp`));
      sighupToServingMs.push(performance.now() - started);
    }

    // A rollout of the json server under 50 connections.
    const connections = 50;
    const agent = new Agent({ connections });
    let calls = 0;
    let failed = 0;
    let running = true;
    const stamps: number[] = [];
    const loops = Array.from({ length: connections }, async () => {
      while (running) {
        try {
          const res = await request(`${mux.url}/json/mcp`, { method: 'POST', headers: MCP_HEADERS, body: CALL, dispatcher: agent });
          await res.body.dump();
          if (res.statusCode !== 200) failed += 1;
        } catch {
          failed += 1;
        }
        calls += 1;
        stamps.push(performance.now());
      }
    });
    const warm = performance.now();
    await new Promise((resolve) => setTimeout(resolve, quick ? 500 : 2000));
    const beforeEnd = performance.now();
    const rpsBefore = stamps.filter((t) => t >= warm).length / ((beforeEnd - warm) / 1000);
    const rolloutStart = performance.now();
    const answer = await sendControl(mux.socket, '/servers/json/rollout');
    const rolloutMs = performance.now() - rolloutStart;
    if (answer.status !== 200) throw new Error(`rollout: ${JSON.stringify(answer.body)}`);
    // Calls go on through the old process's drain and after it.
    await new Promise((resolve) => setTimeout(resolve, quick ? 500 : 2000));
    running = false;
    await Promise.all(loops);
    await agent.close();
    const during = stamps.filter((t) => t >= rolloutStart && t <= rolloutStart + rolloutMs).length;
    return { sighupToServingMs, rollout: { connections, calls, failed, rolloutMs, rpsBefore, rpsDuring: during / (rolloutMs / 1000) } };
  } finally {
    mux.proc.kill('SIGTERM');
    await new Promise((resolve) => mux.proc.once('exit', resolve));
  }
}

export function printChangeReport(r: ChangeResult): void {
  const sorted = [...r.sighupToServingMs].sort((a, b) => a - b);
  console.log(`SIGHUP to a new server serving: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms (${sorted.map((x) => x.toFixed(0)).join(', ')})`);
  const o = r.rollout;
  console.log(`rollout under ${o.connections} connections: ${o.failed} failed of ${o.calls} calls; the new process served after ${o.rolloutMs.toFixed(0)} ms; ${o.rpsBefore.toFixed(0)} req/s before, ${o.rpsDuring.toFixed(0)} req/s while it started`);
}
