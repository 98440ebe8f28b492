import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessExit } from '../../../src/supervisor/spawn.js';
import type { StdioProcess } from '../../../src/bridge/stdio-process.js';
import { WarmPool } from '../../../src/bridge/warm-pool.js';

/** A stand-in process (the pool's own seam): `exit()` ends it. */
function fakeProcess(pid: number): StdioProcess & { exit: () => void; stopped: boolean } {
  let resolveExit: (exit: ProcessExit) => void = () => undefined;
  const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve));
  const process = {
    pid,
    startedAt: Date.now(),
    stopped: false,
    exited,
    attach: () => undefined,
    stderrTail: () => [],
    send: () => true,
    holdOutput: () => undefined,
    releaseOutput: () => undefined,
    wasted: () => undefined,
    stop: async () => {
      process.stopped = true;
      resolveExit({ code: 0, signal: null });
    },
    exit: () => resolveExit({ code: 1, signal: null }),
  };
  return process;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the warm pool', () => {
  it('keeps its size filled, hands out a warm process, and starts a replacement', async () => {
    let next = 100;
    const started: ReturnType<typeof fakeProcess>[] = [];
    const pool = new WarmPool(2, async () => (started.push(fakeProcess(next++)), started.at(-1)!), { onWarmExit: () => undefined, onStartFailed: () => undefined });
    pool.fill();
    await tick();
    assert.deepEqual(pool.pids, [100, 101]);
    const taken = await pool.take();
    assert.equal(taken.pid, 100);
    await tick();
    assert.deepEqual(pool.pids, [101, 102]);
    await pool.stop();
    assert.deepEqual(started.map((p) => p.stopped), [false, true, true], 'stop ends the warm ones, not the one a session took');
  });

  it('starts one on demand when none is warm (size 0)', async () => {
    const pool = new WarmPool(0, async () => fakeProcess(7), { onWarmExit: () => undefined, onStartFailed: () => undefined });
    pool.fill();
    assert.equal(pool.size, 0);
    assert.equal((await pool.take()).pid, 7);
  });

  it('replaces a warm process that exits, and reports it', async () => {
    let next = 1;
    const started: ReturnType<typeof fakeProcess>[] = [];
    const exits: number[] = [];
    const pool = new WarmPool(1, async () => (started.push(fakeProcess(next++)), started.at(-1)!), { onWarmExit: (pid) => exits.push(pid), onStartFailed: () => undefined });
    pool.fill();
    await tick();
    started[0]!.exit();
    await tick();
    assert.deepEqual(exits, [1]);
    // The first replacement is immediate (backoff attempt 1).
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(pool.pids, [2]);
    await pool.stop();
  });

  it('reports a process that cannot be started and tries again later', async () => {
    const failures: unknown[] = [];
    const pool = new WarmPool(1, async () => {
      throw new Error('ENOENT');
    }, { onWarmExit: () => undefined, onStartFailed: (error) => failures.push(error) });
    pool.fill();
    await tick();
    assert.equal(failures.length, 1);
    assert.equal(pool.size, 0);
    await pool.stop();
  });
});
