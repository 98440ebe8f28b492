/**
 * The stdio row of `npm run bench`: one stdio MCP server (bench/stdio-child.ts) behind mcpmux
 * (isolated sessions, and shared), supergateway (stdio -> streamable HTTP, stateful) and
 * punkpeye's mcp-proxy, the peers installed from npm into a cache folder. Every target is driven
 * by the same session-aware load generator (undici, raw MCP over streamable HTTP), interleaved
 * over rounds. Per target: tools/call req/s and p50 at 1 session and at 20 concurrent sessions,
 * CPU per call across the whole process tree, memory per open session, and the time from a new
 * session's initialize to its first tool result.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN, makeTempDir, ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { driveSessions as drive, median, Session } from './sessions.js';

const STDIO_CHILD = path.join(ROOT, 'dist/test/bench/stdio-child.js');
const PEERS = ['supergateway@4.0.0', 'mcp-proxy@6.7.19'];
const SESSIONS = 20;

interface Target {
  readonly name: string;
  readonly url: string;
  readonly root: ChildProcess;
  /** Resolves when a new session would find a warm process (mcpmux isolated), at once otherwise. */
  readonly settled: () => Promise<void>;
}

export interface StdioTargetResult {
  one: { rps: number; p50: number };
  twenty: { rps: number; p50: number };
  cpuUsPerCall: number;
  memoryPerSessionBytes: number;
  firstResultMs: number;
  errors: number;
}


function ensurePeers(): string {
  const prefix = path.join(tmpdir(), 'mcpmux-bench-peers');
  const bin = path.join(prefix, 'node_modules/.bin');
  if (!existsSync(path.join(bin, 'supergateway')) || !existsSync(path.join(bin, 'mcp-proxy'))) {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', ...PEERS], { stdio: 'ignore', timeout: 300_000 });
  }
  return bin;
}

/** Every process of a tree, from /proc: the root and its descendants. */
function treeOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

function treeUsage(root: number): { cpu: Map<number, number>; rss: number } {
  const cpu = new Map<number, number>();
  let rss = 0;
  for (const pid of treeOf(root)) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return { cpu, rss };
}

/** CPU seconds used between two samples by the processes present in both (new ones count from 0). */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startMcpmux(name: string, stdio: Record<string, unknown>): Promise<Target> {
  const file = path.join(makeTempDir('mcpmux-bench-stdio-'), 'mcpmux.json');
  writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1' }, servers: { s: { transport: 'stdio', command: process.execPath, args: [STDIO_CHILD], stdio } } }));
  const [port, admin] = [await freePort(), await freePort()];
  const root = spawn(process.execPath, [MAIN, '--config', file, '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn'], { stdio: 'ignore' });
  const status = async () => ((await (await fetch(`http://127.0.0.1:${admin}/status`)).json()) as { servers: { ready: boolean; stdio?: { warmProcesses: number } }[] }).servers[0]!;
  await until(async () => (await status()).ready);
  const warm = (stdio.warmProcesses as number | undefined) ?? 1;
  const settled = async () => {
    if (stdio.sessions !== 'shared' && warm > 0) await until(async () => (await status()).stdio?.warmProcesses === warm);
  };
  return { name, url: `http://127.0.0.1:${port}/s/mcp`, root, settled };
}

async function startPeer(name: string, command: string, args: (port: number) => string[]): Promise<Target> {
  const port = await freePort();
  const root = spawn(command, args(port), { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/mcp`;
  await until(async () => {
    const session = await Session.open(url);
    await session.close();
    return true;
  });
  return { name, url, root, settled: async () => undefined };
}

export async function runStdioBench(seconds: number, rounds: number): Promise<Record<string, StdioTargetResult>> {
  const bin = ensurePeers();
  const child = `${process.execPath} ${STDIO_CHILD}`;
  const targets = [
    await startMcpmux('mcpmux', {}),
    await startMcpmux('mcpmux shared', { sessions: 'shared' }),
    await startPeer('supergateway', path.join(bin, 'supergateway'), (port) => ['--stdio', child, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none']),
    await startPeer('mcp-proxy', path.join(bin, 'mcp-proxy'), (port) => ['--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--', process.execPath, STDIO_CHILD]),
  ];
  const cold = await startMcpmux('mcpmux, no warm process', { warmProcesses: 0 });
  const runs = new Map<string, StdioTargetResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      await target.settled();
      // First result of a new session: initialize, initialized, tools/call.
      const firsts: number[] = [];
      for (let i = 0; i < 3; i++) {
        await target.settled();
        const t = performance.now();
        const session = await Session.open(target.url);
        await session.call();
        firsts.push(performance.now() - t);
        await session.close();
      }
      const idle = treeUsage(target.root.pid!);
      const one = await Session.open(target.url);
      const oneRun = await drive([one], seconds);
      await one.close();
      await target.settled();
      const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => Session.open(target.url)));
      await drive(sessions, 0.3); // every session's process warmed up
      const before = treeUsage(target.root.pid!);
      const twenty = await drive(sessions, seconds);
      const after = treeUsage(target.root.pid!);
      await Promise.all(sessions.map((s) => s.close()));
      const result: StdioTargetResult = {
        one: { rps: oneRun.rps, p50: oneRun.p50 },
        twenty: { rps: twenty.rps, p50: twenty.p50 },
        cpuUsPerCall: (cpuBetween(before.cpu, after.cpu) / twenty.calls) * 1e6,
        memoryPerSessionBytes: (after.rss - idle.rss) / SESSIONS,
        firstResultMs: median(firsts),
        errors: oneRun.errors + twenty.errors,
      };
      (runs.get(target.name) ?? runs.set(target.name, []).get(target.name)!).push(result);
    }
  }
  // The cold start with no warm process, for the warm pool's figure beside it.
  const coldFirsts: number[] = [];
  for (let i = 0; i < 3 * rounds; i++) {
    const t = performance.now();
    const session = await Session.open(cold.url);
    await session.call();
    coldFirsts.push(performance.now() - t);
    await session.close();
  }
  for (const target of [...targets, cold]) target.root.kill('SIGTERM');
  const summary: Record<string, StdioTargetResult> = {};
  for (const [name, list] of runs) {
    const m = (pick: (r: StdioTargetResult) => number) => median(list.map(pick));
    summary[name] = {
      one: { rps: m((r) => r.one.rps), p50: m((r) => r.one.p50) },
      twenty: { rps: m((r) => r.twenty.rps), p50: m((r) => r.twenty.p50) },
      cpuUsPerCall: m((r) => r.cpuUsPerCall),
      memoryPerSessionBytes: m((r) => r.memoryPerSessionBytes),
      firstResultMs: m((r) => r.firstResultMs),
      errors: list.reduce((s, r) => s + r.errors, 0),
    };
  }
  summary['mcpmux, no warm process'] = { ...summary.mcpmux!, firstResultMs: median(coldFirsts) };
  return summary;
}

export function printStdioReport(results: Record<string, StdioTargetResult>): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('\nstdio server, per target    1 session req/s  p50 ms   20 sessions req/s  p50 ms   CPU µs/call  MiB/session  first result ms  errors');
  for (const [name, r] of Object.entries(results)) {
    if (name === 'mcpmux, no warm process') {
      console.log(`${name.padEnd(28)} ${''.padStart(15)}  ${''.padStart(6)}   ${''.padStart(17)}  ${''.padStart(6)}   ${''.padStart(11)}  ${''.padStart(11)}  ${f(r.firstResultMs, 1).padStart(15)}`);
      continue;
    }
    console.log(`${name.padEnd(28)} ${f(r.one.rps).padStart(15)}  ${f(r.one.p50, 2).padStart(6)}   ${f(r.twenty.rps).padStart(17)}  ${f(r.twenty.p50, 2).padStart(6)}   ${f(r.cpuUsPerCall).padStart(11)}  ${f(r.memoryPerSessionBytes / 2 ** 20, 1).padStart(11)}  ${f(r.firstResultMs, 1).padStart(15)}  ${String(r.errors).padStart(6)}`);
  }
}
