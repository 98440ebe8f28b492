/**
 * `--watch-config`. On a Kubernetes-style ConfigMap mount the kubelet never writes the file; it
 * writes a new timestamped folder and swaps the `..data` symlink to it: one swap is exactly one
 * reload, applied at once, and a touch without change is none. A file written in place, in parts,
 * is applied only once it has settled: never its first half.
 */
import assert from 'node:assert/strict';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QUIET_MS, SETTLE_MS } from '../../src/config/settle.js';
import { startMcpmux, stopAll, type LogRecord, type Mcpmux } from '../helpers/mcpmux.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const echo = { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT };
/** The soonest a write in place can be applied: the quiet period, then the settle wait. */
const SETTLED_AT_THE_EARLIEST_MS = QUIET_MS + SETTLE_MS;

describe('watching a ConfigMap-mounted config', () => {
  let mux: Mcpmux;
  let dir: string;
  let version = 0;

  /** What the kubelet's atomic writer does: a new folder, `..data` swapped to it by a rename. */
  const publish = (config: unknown) => {
    version += 1;
    const folder = `..2026_11_29_${version}`;
    mkdirSync(path.join(dir, folder));
    writeFileSync(path.join(dir, folder, 'mcpmux.json'), JSON.stringify(config));
    symlinkSync(folder, path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    if (version > 1) rmSync(path.join(dir, `..2026_11_29_${version - 1}`), { recursive: true });
  };
  const reloads = () => mux.logs.filter((r) => r.msg === 'reload applied' && r.trigger === 'config file changed');

  before(async () => {
    dir = makeTempDir('mcpmux-configmap-');
    publish({ servers: { echo } });
    symlinkSync('..data/mcpmux.json', path.join(dir, 'mcpmux.json'));
    mux = await startMcpmux({ file: path.join(dir, 'mcpmux.json') }, { args: ['--watch-config'] });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  it('reloads exactly once per symlink swap, at once, and starts the server it adds', async (t) => {
    publish({ servers: { echo, math: echo } });
    const swappedAt = Date.now();
    const applied = await mux.waitForLog((r) => r.msg === 'reload applied', 'the swap to be applied');
    const elapsed = Date.parse(applied.time as string) - swappedAt;
    t.diagnostic(`a ConfigMap swap applied ${elapsed} ms after it`);
    assert.ok(elapsed < SETTLED_AT_THE_EARLIEST_MS, `a swap is not held for the settle wait (applied after ${elapsed} ms)`);
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'math')?.ready, 'math to be added and ready', 30_000);
    assert.equal(reloads().length, 1);
    const record = mux.logs.find((r) => r.msg === 'reload: server added, starting');
    assert.deepEqual([record?.server, record?.trigger], ['math', 'config file changed']);
  });

  it('does not reload when an update leaves the file as it was', async () => {
    const before = reloads().length;
    const from = mux.logs.length;
    // The same content, published anew: a new folder and a swap, with nothing changed in the file.
    publish({ servers: { echo, math: echo } });
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'config file touched, content unchanged: no reload', 'the watch to look at the file');
    assert.equal(reloads().length, before, 'nothing reloaded');
  });
});

describe('watching a config file that is written in place, in two parts', () => {
  let mux: Mcpmux;
  let file: string;
  /** YAML, one server a line, so that a config cut after any server is still a whole config. */
  const yaml = (servers: Record<string, unknown>) => `servers:\n${Object.entries(servers).map(([name, server]) => `  ${name}: ${JSON.stringify(server)}\n`).join('')}`;
  const math = echo;
  const isWatchReload = (r: LogRecord) => r.trigger === 'config file changed';

  before(async () => {
    file = path.join(makeTempDir('mcpmux-watch-'), 'mcpmux.yaml');
    writeFileSync(file, yaml({ echo, math }));
    mux = await startMcpmux({ file }, { args: ['--watch-config'] });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  it('applies the file only once it is whole: the server in its second half keeps its process and its route', async (t) => {
    const mathPid = (await mux.status()).servers.find((s) => s.name === 'math')?.pid;
    assert.ok(mathPid);
    const from = mux.logs.length;
    const since = () => mux.logs.slice(from);
    const mathAnswers = new Set<number>();
    const mathPids = new Set<number | null | undefined>();
    /** What a client of math sees, and which process serves it: sampled while the file is written. */
    const sampleMath = async () => {
      const res = await fetch(`${mux.publicUrl}/math/mcp`);
      await res.body?.cancel();
      mathAnswers.add(res.status);
      mathPids.add((await mux.status()).servers.find((s) => s.name === 'math')?.pid);
    };

    // The new config: echo gains an env var (a rollout of echo alone), math is as it was.
    const whole = yaml({ echo: { ...echo, env: { WATCH_MARK: 'two-parts' } }, math });
    const firstHalf = yaml({ echo: { ...echo, env: { WATCH_MARK: 'two-parts' } } });
    assert.ok(whole.startsWith(firstHalf));
    const fd = openSync(file, 'w');
    writeSync(fd, firstHalf);
    fsyncSync(fd);
    // The writer pauses with half the file written: the pause is the behaviour under test, and
    // math is watched all through it.
    const pausedAt = Date.now();
    await waitFor(async () => (await sampleMath(), Date.now() - pausedAt >= 400), 'the pause in the write', 5_000);
    writeSync(fd, whole.slice(firstHalf.length));
    fsyncSync(fd);
    closeSync(fd);
    const writtenAt = Date.now();

    const applied = await waitFor(async () => (await sampleMath(), since().find((r) => r.msg === 'reload applied' && isWatchReload(r))), 'the whole file to be applied', 15_000);
    t.diagnostic(`a write in two parts applied ${Date.parse(applied.time as string) - writtenAt} ms after its end`);
    assert.ok(Date.parse(applied.time as string) >= writtenAt, 'applied only after the write ended');
    const rolled = since().find((r) => r.msg === 'reload: process changed, rolling out a new one');
    assert.deepEqual([rolled?.server, rolled?.fields], ['echo', ['env']]);
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'rollout finished: the new process serves' && r.server === 'echo', 'echo to roll out', 30_000);
    const echoPid = (await mux.status()).servers.find((s) => s.name === 'echo')?.pid;
    assert.match(readFileSync(`/proc/${echoPid}/environ`, 'utf8'), /(^|\0)WATCH_MARK=two-parts\0/, 'the new echo runs with the new env');

    // A barrier: the same content written again is looked at and is no reload; by then any
    // second reload of the write would have been logged.
    const barrier = mux.logs.length;
    writeFileSync(file, whole);
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= barrier && r.msg === 'config file touched, content unchanged: no reload', 'the watch to look at the rewrite');
    assert.equal(since().filter((r) => r.msg === 'reload applied' && isWatchReload(r)).length, 1, 'exactly one reload');
    assert.ok(since().some((r) => r.msg === 'config file changed, not settled yet: read again before reloading'), 'the wait is logged');
    assert.equal(since().find((r) => r.msg === 'reload: server removed, draining'), undefined, 'math was never removed');
    assert.equal(since().find((r) => r.msg === 'reload: server added, starting'), undefined, 'math was never added back');
    assert.deepEqual([...mathAnswers], [400], 'math answered (its own 400 to a GET without a session) all through the write, never 404');
    assert.deepEqual([...mathPids], [mathPid], 'math kept its process');
  });
});
