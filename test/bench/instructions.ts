/**
 * `npm run bench:instructions`: user-space instructions per proxied tools/call, counted by
 * valgrind's callgrind (installed from Debian when missing), for mcpmux and for the node:http
 * floor (floor.ts). Unlike CPU time, the count barely moves with what else the machine is doing,
 * so it tells apart two builds whose difference is lost in the noise of `npm run bench`.
 * Each target starts with callgrind's instrumentation off, takes WARM requests (V8 optimises the
 * hot path meanwhile, at a fifth of native speed rather than a fiftieth), then COUNT requests with
 * it on (callgrind_control -i on, then a dump): their count over COUNT is the steady-state cost of
 * one request, start-up and most of the JIT warm-up left out. What the optimising compilers still
 * do in the window is reported apart where it matters (--oauth, --tracing).
 * System calls are not counted: the kernel's share is the same for every Node proxy.
 *   --quick   a handful of requests per run (the test suite runs this; the count is then warm-up)
 *   --session every call with an Mcp-Session-Id: what the session-affinity lookup costs
 *   --cluster sessions across pods, with two mcpmux sharing a cluster key and one of them under
 *             callgrind: a call of a session it owns (the proxy pass, seal checked), a call it
 *             relays to the owner (the relay pass), and a relayed call at the owner (its pass
 *             with the mark checked). A relayed call costs the relay pass plus the owner's pass.
 *   --oauth   one mcpmux with an open route and an OAuth route (issuer: oidc-provider 9,
 *             helpers/oidc.ts): a call on each, the OAuth one with the same token every time, so
 *             in steady state a hit in the verified-token cache (the warm cost of a token).
 *   --tracing the same call with tracing off, on with every trace sampled (ratio 1), and on with
 *             1 % sampled, exporting to a collector that takes every export (a sink of its own, so
 *             that only mcpmux's work is counted): each call brings a sampled client traceparent
 *             off and with ratio 1, none with 1 %, so that the ratio decides.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { ensureDebianCommand } from '../helpers/debian.js';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { startStatusCollector } from '../helpers/otlp.js';
import { startOidcProvider } from '../helpers/oidc.js';
import { freePort } from '../helpers/ports.js';
import { CALL, CHILD, FLOOR, MCP_HEADERS } from './call.js';
import { Session } from './sessions.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, session: { type: 'boolean', default: false }, cluster: { type: 'boolean', default: false }, oauth: { type: 'boolean', default: false }, tracing: { type: 'boolean', default: false } } });
// --session: every call carries an Mcp-Session-Id, so mcpmux looks up its owner (the affinity's cost).
const HEADERS = flags.session ? { ...MCP_HEADERS, 'mcp-session-id': '5f0e7a52-8d6b-4c2e-9a51-3b7d2f1c9e04' } : MCP_HEADERS;
// --quick: a handful of requests, to prove the script end to end; the count is then mostly warm-up.
const [WARM, COUNT] = flags.quick ? [20, 40] : [6000, 2000];

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

/** Instructions counted: in all, and in the functions whose names match each of `parts`. */
interface Count {
  readonly total: number;
  readonly parts: Readonly<Record<string, number>>;
}

/**
 * Runs `run.argv` under callgrind, sends WARM requests once it answers, then `count` with the
 * instrumentation on, stops it, and returns the count of those; with `parts`, also the instructions of the functions each one matches (their
 * own instructions, as callgrind_annotate lists them).
 */
async function countInstructions(valgrind: string, run: Run, count: number, parts: Readonly<Record<string, RegExp>> = {}): Promise<Count> {
  const { argv, url } = run;
  let out = path.join(makeTempDir('mcpmux-callgrind-'), 'callgrind.out');
  const proc = spawn(valgrind, ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  // What it said, the last 8 KiB of each stream: why it stopped, when it stops before answering.
  let said = '';
  for (const stream of [proc.stdout, proc.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => (said = (said + chunk).slice(-8192)));
  let exitCode: number | string | null = null;
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve((exitCode = code ?? signal ?? -1))));
  const deadline = Date.now() + 180_000;
  const up = async () => (run.ready ? (await request(run.ready)).statusCode : await call(url));
  while ((await up().catch(() => 0)) !== 200) {
    if (exitCode !== null) throw new ExitedEarly(`${argv.join(' ')} exited with ${exitCode} under valgrind before it answered:\n${said}`, said);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${argv.join(' ')} did not answer under valgrind in 180 s:\n${said}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const headers = (await run.headers?.()) ?? HEADERS;
  for (let i = 0; i < WARM; i++) if ((await call(url, headers)) !== 200) throw new Error('a request failed');
  const control = (...args: string[]) => execFileSync(path.join(path.dirname(valgrind), 'callgrind_control'), [...args, String(proc.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  control('-i', 'on');
  for (let i = 0; i < count; i++) if ((await call(url, headers)) !== 200) throw new Error('a request failed');
  // The window's counts, dumped to `${out}.1`; what follows (the stop) is not counted.
  control('-d');
  control('-i', 'off');
  proc.kill('SIGTERM');
  await exited;
  out = `${out}.1`;
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error('callgrind wrote no summary');
  const byPart: Record<string, number> = Object.fromEntries(Object.keys(parts).map((name) => [name, 0]));
  if (Object.keys(parts).length > 0) {
    const listing = execFileSync(path.join(path.dirname(valgrind), 'callgrind_annotate'), ['--threshold=100', out], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    for (const line of listing.split('\n')) {
      const fn = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$/.exec(line);
      if (!fn || fn[2]!.startsWith('PROGRAM TOTALS')) continue;
      for (const [name, pattern] of Object.entries(parts)) if (pattern.test(fn[2]!)) byPart[name]! += Number(fn[1]!.replaceAll(',', ''));
    }
  }
  return { total: Number(summary[1]), parts: byPart };
}

/** The process under callgrind stopped before it answered: what it printed says why. */
class ExitedEarly extends Error {
  constructor(message: string, readonly said: string) {
    super(message);
  }
}

/**
 * countInstructions on a fresh start(). Its ports are picked free before the process binds them,
 * which under valgrind takes seconds: a test running beside it may take one first. Then it starts
 * again on other ports, up to three times; any other early exit is an error at once.
 */
async function countStarted(valgrind: string, start: () => Promise<Run>, count: number, parts: Readonly<Record<string, RegExp>>): Promise<Count> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await countInstructions(valgrind, await start(), count, parts);
    } catch (error) {
      if (!(error instanceof ExitedEarly && /EADDRINUSE/.test(error.said) && attempt < 3)) throw error;
    }
  }
}

/** Per request in steady state: the count of COUNT requests after WARM ones, over COUNT. */
async function perRequestCount(valgrind: string, start: () => Promise<Run>, parts: Readonly<Record<string, RegExp>> = {}): Promise<Count> {
  const counted = await countStarted(valgrind, start, COUNT, parts);
  return { total: counted.total / COUNT, parts: Object.fromEntries(Object.keys(parts).map((name) => [name, counted.parts[name]! / COUNT])) };
}

async function perRequest(valgrind: string, start: () => Promise<Run>): Promise<number> {
  return (await perRequestCount(valgrind, start)).total;
}

async function main() {
  const valgrind = ensureDebianCommand('valgrind', 'valgrind');
  if (flags.cluster) return measureCluster(valgrind);
  if (flags.oauth) return measureOAuth(valgrind);
  if (flags.tracing) return measureTracing(valgrind);
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
  console.log(`instructions per proxied tools/call (user space, steady state, ${COUNT} requests after ${WARM}${flags.quick ? '; --quick: too few to mean much' : ''}):`);
  console.log(`  mcpmux      ${Math.round(mcpmux).toLocaleString('en')}`);
  console.log(`  node-floor  ${Math.round(floor).toLocaleString('en')}`);
  console.log(`  mcpmux / floor: ${(mcpmux / floor).toFixed(2)}x`);
  process.exit(0);
}

/** Where the instructions of --oauth go, beside the total. */
const OAUTH_PARTS: Readonly<Record<string, RegExp>> = { 'V8 compiler': /v8::internal::(compiler|maglev)::/, 'SHA-256': /sha256_block_data_order/ };

/** A call on an open route against the same call on an OAuth route, its token cached after the first. */
async function measureOAuth(valgrind: string) {
  const provider = await startOidcProvider({ accessTokenTtlSeconds: 3600 });
  const dir = makeTempDir('mcpmux-callgrind-');
  const child = { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } };
  // One config for both: the same process serves both routes, only the route called differs.
  const start = (route: 'open' | 'oauth') => async (): Promise<Run> => {
    const [port, admin] = [await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${port}`;
    const config = path.join(dir, `mcpmux-${port}.json`);
    writeFileSync(config, JSON.stringify({ listen: { host: '127.0.0.1', publicUrl: origin }, servers: { open: child, oauth: { ...child, auth: { oauth: { issuer: provider.issuer } } } } }));
    return {
      argv: [process.execPath, MAIN, '--config', config, '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn'],
      url: `${origin}/${route}/mcp`,
      ready: `http://127.0.0.1:${admin}/readyz`,
      ...(route === 'oauth' ? { headers: async () => ({ ...HEADERS, authorization: `Bearer ${await provider.tokenFor({ resource: `${origin}/oauth`, scopes: ['mcp:call'] })}` }) } : {}),
    };
  };
  const open = await perRequestCount(valgrind, start('open'), OAUTH_PARTS);
  const oauth = await perRequestCount(valgrind, start('oauth'), OAUTH_PARTS);
  await provider.stop();
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const compiler = (c: Count) => c.parts['V8 compiler']!;
  console.log(`instructions per proxied tools/call, open route against OAuth route with a warm token cache (user space, steady state, ${COUNT} requests after ${WARM}${flags.quick ? '; --quick: too few to mean much' : ''}):`);
  console.log(`  open        ${n(open.total)}`);
  console.log(`  oauth warm  ${n(oauth.total)}`);
  console.log(`  oauth / open: ${(oauth.total / open.total).toFixed(3)}x`);
  // What moves the ratio: V8's optimizing compilers still at work in the window (warm-up, not a
  // request's cost, and different from run to run), and the token's SHA-256 (the cache key), which
  // OpenSSL computes in software under valgrind (it hides the CPU's SHA instructions, used outside it).
  console.log(`  of which V8's optimizing compilers: open ${n(compiler(open))}, oauth ${n(compiler(oauth))}; SHA-256 in software: oauth ${n(oauth.parts['SHA-256']!)}`);
  console.log(`  without the compilers: open ${n(open.total - compiler(open))}, oauth ${n(oauth.total - compiler(oauth))}, ${((oauth.total - compiler(oauth)) / (open.total - compiler(open))).toFixed(3)}x`);
  process.exit(0);
}

/** Where the instructions of --tracing go, beside the total. */
const TRACING_PARTS: Readonly<Record<string, RegExp>> = { 'V8 compiler': /v8::internal::(compiler|maglev)::/, 'garbage collector': /v8::internal::(Heap|Scavenger|MarkCompact|ConcurrentMarking|MinorMarkSweep|Sweeper|MarkingVisitor|Marking)/ };

/** One call with tracing off, on (ratio 1), and on (ratio 0.01). */
async function measureTracing(valgrind: string) {
  // A collector that takes every export and decodes nothing: what it costs is not mcpmux's.
  const collector = await startStatusCollector(200);
  const endpoint = collector.url;
  const dir = makeTempDir('mcpmux-callgrind-');
  const child = { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } };
  const start = (tracing: Record<string, unknown> | undefined, headers: Record<string, string>) => async (): Promise<Run> => {
    const [port, admin] = [await freePort(), await freePort()];
    const config = path.join(dir, `mcpmux-${port}.json`);
    writeFileSync(config, JSON.stringify({ listen: { host: '127.0.0.1' }, ...(tracing && { tracing }), servers: { json: child } }));
    return {
      argv: [process.execPath, MAIN, '--config', config, '--port', String(port), '--admin-port', String(admin), '--log-level', 'warn'],
      url: `http://127.0.0.1:${port}/json/mcp`,
      ready: `http://127.0.0.1:${admin}/readyz`,
      headers: async () => headers,
    };
  };
  const sampled = { ...HEADERS, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  // Off takes the same requests as on with ratio 1: what turning tracing on costs the same traffic.
  const off = await perRequestCount(valgrind, start(undefined, sampled), TRACING_PARTS);
  const all = await perRequestCount(valgrind, start({ endpoint, sampler: { ratio: 1 } }, sampled), TRACING_PARTS);
  const some = await perRequestCount(valgrind, start({ endpoint, sampler: { ratio: 0.01 } }, HEADERS), TRACING_PARTS);
  await collector.stop();
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const compiler = (c: Count) => c.parts['V8 compiler']!;
  console.log(`instructions per proxied tools/call with tracing (user space, steady state, ${COUNT} requests after ${WARM}${flags.quick ? '; --quick: too few to mean much' : ''}):`);
  console.log(`  off              ${n(off.total)}`);
  console.log(`  on, ratio 1      ${n(all.total)} (${(all.total / off.total).toFixed(3)}x)`);
  console.log(`  on, ratio 0.01   ${n(some.total)} (${(some.total / off.total).toFixed(3)}x)`);
  // What moves the ratios: V8's optimizing compilers still at work in the window (warm-up, not a
  // request's cost: tracing on has more code to compile), and the collector of garbage.
  for (const [name, count] of [['off', off], ['on, ratio 1', all], ['on, ratio 0.01', some]] as const) {
    console.log(`  ${name}: ${Object.entries(count.parts).map(([part, value]) => `${part} ${n(value)}`).join(', ')}`);
  }
  console.log(`  without the compilers: on, ratio 1 ${((all.total - compiler(all)) / (off.total - compiler(off))).toFixed(3)}x; on, ratio 0.01 ${((some.total - compiler(some)) / (off.total - compiler(off))).toFixed(3)}x`);
  console.log(`  exports the collector took: ${collector.requests()}`);
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
  console.log(`instructions per tools/call of a session, sessions across pods (user space, steady state, ${COUNT} requests after ${WARM}${flags.quick ? '; --quick: too few to mean much' : ''}):`);
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
