/**
 * `npm run bench:instructions`: user-space instructions per proxied tools/call, counted by
 * valgrind's callgrind (installed from Debian when missing), for mcpmux and for the node:http
 * floor (floor.ts). Unlike CPU time, the count barely moves with what else the machine is doing,
 * so it tells apart two builds whose difference is lost in the noise of `npm run bench`.
 * Each target runs twice, with LOW and HIGH requests after start-up; the difference over
 * HIGH - LOW is the steady-state cost of one request, start-up and JIT warm-up cancelled out.
 * System calls are not counted: the kernel's share is the same for every Node proxy.
 *   --quick   a handful of requests per run (the test suite runs this; the count is then warm-up)
 *   --session every call with an Mcp-Session-Id: what the session-affinity lookup costs
 *   --cluster sessions across pods, with two mcpmux sharing a cluster key and one of them under
 *             callgrind: a call of a session it owns (the proxy pass, seal checked), a call it
 *             relays to the owner (the relay pass), and a relayed call at the owner (its pass
 *             with the mark checked). A relayed call costs the relay pass plus the owner's pass.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { ensureDebianCommand } from '../helpers/debian.js';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CALL, CHILD, FLOOR, MCP_HEADERS } from './call.js';
import { Session } from './sessions.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, session: { type: 'boolean', default: false }, cluster: { type: 'boolean', default: false } } });
// --session: every call carries an Mcp-Session-Id, so mcpmux looks up its owner (the affinity's cost).
const HEADERS = flags.session ? { ...MCP_HEADERS, 'mcp-session-id': '5f0e7a52-8d6b-4c2e-9a51-3b7d2f1c9e04' } : MCP_HEADERS;
// --quick: a handful of requests, to prove the script end to end; the count is then mostly warm-up.
const [LOW, HIGH] = flags.quick ? [20, 60] : [1500, 3500];

async function call(url: string, headers: Record<string, string> = HEADERS): Promise<number> {
  const res = await request(url, { method: 'POST', headers, body: CALL });
  await res.body.dump();
  return res.statusCode;
}

/** What is measured: the command run under callgrind, and the calls sent once it is up. */
interface Run {
  readonly argv: string[];
  /** Where the calls go. */
  readonly url: string;
  /** Answers 200 once the process under callgrind serves (by default, a call to `url`). */
  readonly ready?: string;
  /** The calls' headers, made once it serves (a session opened). */
  readonly headers?: () => Promise<Record<string, string>>;
}

/** Runs `run.argv` under callgrind, sends `count` requests once it answers, stops it, and returns its instruction count. */
async function countInstructions(valgrind: string, run: Run, count: number): Promise<number> {
  const { argv, url } = run;
  const out = path.join(makeTempDir('mcpmux-callgrind-'), 'callgrind.out');
  const proc = spawn(valgrind, ['--tool=callgrind', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', ...argv], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const deadline = Date.now() + 180_000;
  const up = async () => (run.ready ? (await request(run.ready)).statusCode : await call(url));
  while ((await up().catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${argv.join(' ')} did not answer under valgrind`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const headers = (await run.headers?.()) ?? HEADERS;
  for (let i = 0; i < count; i++) if ((await call(url, headers)) !== 200) throw new Error('a request failed');
  proc.kill('SIGTERM');
  await exited;
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error('callgrind wrote no summary');
  return Number(summary[1]);
}

async function perRequest(valgrind: string, start: () => Promise<Run>): Promise<number> {
  const counts: number[] = [];
  for (const n of [LOW, HIGH]) counts.push(await countInstructions(valgrind, await start(), n));
  return (counts[1]! - counts[0]!) / (HIGH - LOW);
}

async function main() {
  const valgrind = ensureDebianCommand('valgrind', 'valgrind');
  if (flags.cluster) return measureCluster(valgrind);
  const config = path.join(makeTempDir('mcpmux-callgrind-'), 'mcpmux.json');
  writeFileSync(config, JSON.stringify({ listen: { host: '127.0.0.1' }, servers: { json: { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } } } }));
  const mcpmux = await perRequest(valgrind, async () => {
    const [port, admin] = [await freePort(), await freePort()];
    return { argv: [process.execPath, MAIN, '--config', config, '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn'], url: `http://127.0.0.1:${port}/json/mcp` };
  });
  const childPort = await freePort();
  const child = spawn(process.execPath, [CHILD], { env: { ...process.env, PORT: String(childPort), JSON_RESPONSE: '1' }, stdio: 'ignore' });
  const floor = await perRequest(valgrind, async () => {
    const port = await freePort();
    return { argv: [process.execPath, FLOOR, String(port), String(childPort)], url: `http://127.0.0.1:${port}/json/mcp` };
  });
  child.kill('SIGTERM');
  console.log(`instructions per proxied tools/call (user space, steady state, ${HIGH - LOW} requests${flags.quick ? '; --quick: too few to mean much' : ''}):`);
  console.log(`  mcpmux      ${Math.round(mcpmux).toLocaleString('en')}`);
  console.log(`  node-floor  ${Math.round(floor).toLocaleString('en')}`);
  console.log(`  mcpmux / floor: ${(mcpmux / floor).toFixed(2)}x`);
  process.exit(0);
}

/** The three passes of sessions across pods: owned here, relayed from here, relayed to here. */
async function measureCluster(valgrind: string) {
  const key = `instructions-cluster-key-${process.pid}-0123456789abcdef`;
  const dir = makeTempDir('mcpmux-callgrind-');
  const configFor = (port: number, cluster = true) => {
    const file = path.join(dir, `mcpmux-${port}.json`);
    writeFileSync(file, JSON.stringify({
      listen: { host: '127.0.0.1' },
      ...(cluster ? { cluster: { sessionKey: { env: 'MCPMUX_SESSION_KEY' }, advertiseAddress: `127.0.0.1:${port}` } } : {}),
      servers: { json: { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1', SESSIONS: '1' } } },
    }));
    return file;
  };
  const env = { ...process.env, MCPMUX_SESSION_KEY: key };
  const argvOf = async (cluster = true) => {
    const [port, admin] = [await freePort(), await freePort()];
    const argv = [process.execPath, MAIN, '--config', configFor(port, cluster), '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn', '--control-socket', path.join(dir, `${port}.sock`)];
    return { argv, url: `http://127.0.0.1:${port}/json/mcp`, ready: `http://127.0.0.1:${admin}/readyz` };
  };
  const plain = async () => {
    const started = await argvOf();
    const proc = spawn(started.argv[0]!, started.argv.slice(1), { env, stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while ((await request(started.ready).then((r) => r.statusCode, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('mcpmux did not turn ready');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { ...started, proc };
  };
  process.env.MCPMUX_SESSION_KEY = key;
  const sessionAt = (url: string) => async () => ({ ...(await Session.open(url)).headers });
  // The same session's call without cluster: what sealing and checking the id costs a local call.
  const plainSession = await perRequest(valgrind, async () => {
    const alone = await argvOf(false);
    return { ...alone, headers: sessionAt(alone.url) };
  });
  // The owner under callgrind, called directly: the proxy pass of a session it owns.
  const local = await perRequest(valgrind, async () => {
    const owner = await argvOf();
    return { ...owner, headers: sessionAt(owner.url) };
  });
  // A plain owner, and a pod under callgrind relaying every call to it: the relay pass.
  const owner = await plain();
  const relay = await perRequest(valgrind, async () => ({ ...(await argvOf()), headers: sessionAt(owner.url) }));
  // The owner under callgrind, every call relayed to it by a plain pod: its pass, with the mark checked.
  const relayer = await plain();
  const atOwner = await perRequest(valgrind, async () => {
    const measured = await argvOf();
    return { ...measured, url: relayer.url, headers: sessionAt(measured.url) };
  });
  owner.proc.kill('SIGTERM');
  relayer.proc.kill('SIGTERM');
  console.log(`instructions per tools/call of a session, sessions across pods (user space, steady state, ${HIGH - LOW} requests${flags.quick ? '; --quick: too few to mean much' : ''}):`);
  console.log(`  proxy pass, a session, without cluster   ${Math.round(plainSession).toLocaleString('en')}`);
  console.log(`  proxy pass, a session owned here         ${Math.round(local).toLocaleString('en')}`);
  console.log(`  relay pass, to the owner pod             ${Math.round(relay).toLocaleString('en')}`);
  console.log(`  owner's pass of a relayed call           ${Math.round(atOwner).toLocaleString('en')}`);
  console.log(`  cluster on a local call: ${(local / plainSession).toFixed(2)}x; relay / proxy pass: ${(relay / local).toFixed(2)}x; a relayed call in all: ${((relay + atOwner) / local).toFixed(2)}x a local one`);
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
