/**
 * Rollouts of one server that overlap, over the control socket: one runs, the others are answered
 * 409 at once, naming it; a reload that needs a rollout meanwhile waits for it and is applied
 * after. Every request is answered, and every process mcpmux starts is one it owns: /status lists
 * exactly the processes below mcpmux, and a stop leaves none behind.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WATCHDOG_NAME } from '../../src/supervisor/watchdog.js';
import { fixtureServer, startMcpmux, stopAll, writeConfig, type Mcpmux } from '../helpers/mcpmux.js';
import { descendantsOf, readProc } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

/** How long a rollout takes at least: its new process listens only after this. */
const START_DELAY_MS = 1500;

const config = (version: string) => ({
  listen: { host: '127.0.0.1' },
  servers: { echo: fixtureServer('slow-start', { env: { START_DELAY_MS: String(START_DELAY_MS), VERSION: version } }) },
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** From the request to the answer. */
  readonly ms: number;
}

/** POST on the control socket; undefined when no answer came within `timeoutMs`. */
function post(socketPath: string, path: string, timeoutMs = 30_000): Promise<Answer | undefined> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path, method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, ms: Date.now() - started }));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve(undefined);
    });
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The live processes below mcpmux, but its watchdog. */
function childPids(mux: Mcpmux): number[] {
  return descendantsOf(mux.proc.pid!)
    .filter((p) => p.state !== 'Z' && commandLine(p.pid).at(-1) !== WATCHDOG_NAME)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** Every process /status lists for echo. */
async function statusPids(mux: Mcpmux): Promise<number[]> {
  const echo = (await mux.status()).servers.find((s) => s.name === 'echo') as unknown as { processes: { pid: number; role: string }[] };
  return echo.processes.map((p) => p.pid).sort((a, b) => a - b);
}

async function currentPid(mux: Mcpmux): Promise<number> {
  const echo = (await mux.status()).servers.find((s) => s.name === 'echo') as unknown as { processes: { pid: number; role: string }[] };
  return echo.processes.find((p) => p.role === 'current')!.pid;
}

/** Waits until the processes below mcpmux are exactly those /status lists, and only the current one. */
async function waitOwned(mux: Mcpmux, what: string): Promise<number[]> {
  let last = '';
  try {
    return await waitFor(async () => {
      const [children, listed] = [childPids(mux), await statusPids(mux)];
      last = `below mcpmux ${JSON.stringify(children)}, in /status ${JSON.stringify(listed)}`;
      return listed.length === 1 && JSON.stringify(children) === JSON.stringify(listed) && children;
    }, what, 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${last}`);
  }
}

function envOf(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

describe('overlapping rollouts of one server', () => {
  let mux: Mcpmux;
  let file: string;
  /** Every process ever seen below mcpmux, but its watchdog. */
  const seen = new Set<number>();
  let watching: NodeJS.Timeout | undefined;
  before(async () => {
    file = writeConfig(config('1'));
    mux = await startMcpmux({ file });
    await mux.waitReady(30_000);
    watching = setInterval(() => {
      for (const pid of childPids(mux)) seen.add(pid);
    }, 10);
  });
  after(async () => {
    clearInterval(watching);
    await stopAll();
  });

  it('answers every request: one rollout runs, the others get 409 at once naming it, and no process is left unowned', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => post(mux.controlSocket, '/servers/echo/rollout')));
    assert.ok(answers.every((a) => a !== undefined), `every request is answered: ${JSON.stringify(answers)}`);
    const done = answers.filter((a) => a!.status === 200);
    const refused = answers.filter((a) => a!.status === 409);
    assert.equal(done.length, 1, JSON.stringify(answers));
    assert.equal(refused.length, 3, JSON.stringify(answers));
    assert.ok(done[0]!.ms >= START_DELAY_MS, 'the one that ran waited for its new process');
    for (const answer of refused) {
      assert.equal(answer!.body.busy, true);
      assert.match(String(answer!.body.reason), /^a rollout of echo is under way \(since \d{4}-\d\d-\d\dT[\d:.]+Z, asked by mcpmux rollout\)$/);
      assert.ok(answer!.ms < START_DELAY_MS, `refused at once (${answer!.ms} ms), not once the rollout ended`);
    }
    const [pid] = await waitOwned(mux, 'the processes below mcpmux to be those /status lists');
    assert.equal(pid, done[0]!.body.pid);

    const later = await post(mux.controlSocket, '/servers/echo/rollout');
    assert.equal(later?.status, 200, 'a later rollout works');
    await waitOwned(mux, 'the processes below mcpmux to be those /status lists, after a later rollout');
  });

  it('applies a reload that changes the env while a rollout runs after it, without refusing either', async () => {
    const from = mux.logs.length;
    const rollout = post(mux.controlSocket, '/servers/echo/rollout');
    await waitFor(async () => (await statusPids(mux)).length === 2, 'the rollout under way');
    writeFileSync(file, JSON.stringify(config('2')));
    const reload = await post(mux.controlSocket, '/reload');
    assert.deepEqual([reload?.status, reload?.body], [200, { ok: true }], 'the reload is not refused');
    const manual = await rollout;
    assert.equal(manual?.status, 200, `the rollout under way finishes: ${JSON.stringify(manual?.body)}`);
    assert.equal(envOf(manual!.body.pid as number).VERSION, '1', 'on the config it began with');
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'rollout queued: it starts once the rollout under way ends' && r.server === 'echo', 'the reload\'s rollout queued');
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'rollout finished: the new process serves' && r.trigger === 'reload (control socket)', 'the reload\'s rollout finished', 20_000);
    const [pid] = await waitOwned(mux, 'one process, owned');
    assert.equal(await currentPid(mux), pid);
    assert.equal(envOf(pid!).VERSION, '2', 'the final process has the new env');
  });

  it('leaves no process behind after a graceful stop', async () => {
    clearInterval(watching);
    for (const pid of childPids(mux)) seen.add(pid);
    assert.ok(seen.size >= 4, `processes were seen: ${[...seen]}`);
    assert.equal(await mux.stop(), 0);
    await waitFor(() => [...seen].every((pid) => readProc(pid) === undefined || readProc(pid)!.state === 'Z'), 'every process mcpmux started to be gone', 5000);
  });
});
