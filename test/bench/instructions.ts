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

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, session: { type: 'boolean', default: false } } });
// --session: every call carries an Mcp-Session-Id, so mcpmux looks up its owner (the affinity's cost).
const HEADERS = flags.session ? { ...MCP_HEADERS, 'mcp-session-id': '5f0e7a52-8d6b-4c2e-9a51-3b7d2f1c9e04' } : MCP_HEADERS;
// --quick: a handful of requests, to prove the script end to end; the count is then mostly warm-up.
const [LOW, HIGH] = flags.quick ? [20, 60] : [1500, 3500];

async function call(url: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: HEADERS, body: CALL });
  await res.body.dump();
  return res.statusCode;
}

/** Runs `argv` under callgrind, sends `count` requests to `url` once it answers, stops it, and returns its instruction count. */
async function countInstructions(valgrind: string, argv: string[], url: string, count: number): Promise<number> {
  const out = path.join(makeTempDir('mcpmux-callgrind-'), 'callgrind.out');
  const proc = spawn(valgrind, ['--tool=callgrind', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', ...argv], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const deadline = Date.now() + 180_000;
  while ((await call(url).catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${argv.join(' ')} did not answer under valgrind`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (let i = 0; i < count; i++) if ((await call(url)) !== 200) throw new Error('a request failed');
  proc.kill('SIGTERM');
  await exited;
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error('callgrind wrote no summary');
  return Number(summary[1]);
}

async function perRequest(valgrind: string, start: () => Promise<{ argv: string[]; url: string }>): Promise<number> {
  const counts: number[] = [];
  for (const n of [LOW, HIGH]) {
    const { argv, url } = await start();
    counts.push(await countInstructions(valgrind, argv, url, n));
  }
  return (counts[1]! - counts[0]!) / (HIGH - LOW);
}

async function main() {
  const valgrind = ensureDebianCommand('valgrind', 'valgrind');
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

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
