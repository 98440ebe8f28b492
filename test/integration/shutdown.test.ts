/** Graceful stop: drain in-flight work, stop every process group, leave nothing behind. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { fixture, ROOT } from '../helpers/paths.js';
import { descendantsOf, exists, groupMembers, readProc } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

describe('graceful stop', () => {
  after(stopAll);

  it('finishes a long streamed tool call on SIGTERM, exits 0, and leaves no process of the tree', async () => {
    const mux = await startMcpmux({
      shutdown: { gracePeriodSeconds: 6 },
      servers: { state: fixtureServer('stateful', { terminationGracePeriodSeconds: 2 }), echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT } },
    });
    await mux.waitReady();
    const tree = descendantsOf(mux.proc.pid!);
    assert.ok(tree.length >= 2, 'both children are below mcpmux');
    // mcpmux's watchdog (src/supervisor/watchdog.ts), the only `sh` below it here, exits as soon as
    // mcpmux has: re-parented to PID 1, it may stay a zombie until PID 1 reaps it.
    const watchdog = tree.find((p) => p.ppid === mux.proc.pid && p.comm === 'sh');
    const ended = (pid: number) => !exists(pid) || (pid === watchdog?.pid && readProc(pid)?.state === 'Z');

    const { client } = await connectClient(`${mux.publicUrl}/state/mcp`);
    const progress: number[] = [];
    let signalled = false;
    const call = client.callTool({ name: 'progress', arguments: { count: 20, intervalMs: 100 } }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        if (!signalled) {
          signalled = true;
          mux.proc.kill('SIGTERM');
        }
      },
    });
    const result = await call;
    assert.equal(textOf(result), 'sent 20');
    assert.deepEqual(progress, Array.from({ length: 20 }, (_, i) => i + 1), 'every progress event arrives');
    const readyz = await fetch(`${mux.adminUrl}/readyz`).catch(() => undefined);
    if (readyz) assert.equal(readyz.status, 503, '/readyz is 503 while draining');
    await client.close().catch(() => undefined);

    assert.equal(await mux.exited, 0);
    const steps = mux.logs.filter((r) => typeof r.step === 'string').map((r) => r.step);
    assert.deepEqual(steps.filter((s) => s !== 'drain-timeout'), ['readyz-unready', 'stop-accepting', 'drain', 'stop-children', 'stopped']);
    await waitFor(() => tree.every((p) => ended(p.pid)), 'every process of the tree to be gone, zombies included (but the watchdog\'s)', 2000);
  });

  it('SIGKILLs a child that ignores SIGTERM after its grace, and still exits within its budget', async () => {
    const mux = await startMcpmux({
      shutdown: { gracePeriodSeconds: 4 },
      servers: { stubborn: fixtureServer('ignores-sigterm', { terminationGracePeriodSeconds: 1 }) },
    });
    await mux.waitReady();
    const pid = (await mux.status()).servers[0]!.pid!;
    const started = performance.now();
    assert.equal(await mux.stop('SIGTERM'), 0);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 4000, `stopped in ${tookMs.toFixed(0)} ms`);
    assert.ok(tookMs >= 900, `the child had its 1 s grace first (${tookMs.toFixed(0)} ms)`);
    assert.ok(mux.logs.some((r) => r.server === 'stubborn' && r.msg === 'ignoring SIGTERM'));
    assert.ok(mux.logs.some((r) => r.server === 'stubborn' && r.msg === 'process exited' && r.signal === 'SIGKILL'));
    await waitFor(() => !exists(pid), 'the stubborn pid to be gone', 2000);
  });

  it('stops a grandchild started through sh -c, on stop and when its parent dies', async () => {
    const mux = await startMcpmux({
      servers: {
        wrapped: { command: 'sh', args: ['-c', `"${process.execPath}" "${fixture('sleeper')}" & "${process.execPath}" "${fixture('raw-http')}"`] },
      },
    });
    await mux.waitReady();
    const sleeperPid = async (after = 0) =>
      Number(
        (await mux.waitForLog((r) => r.server === 'wrapped' && typeof r.msg === 'string' && r.msg.startsWith('sleeper pid') && Number(r.msg.slice(12)) !== after, 'the sleeper pid'))
          .msg!.slice(12),
      );
    const first = await sleeperPid();
    const leader = (await mux.status()).servers[0]!.pid!;
    assert.ok(groupMembers(leader).length >= 3, 'sh, the sleeper and the server share the group');

    process.kill(leader, 'SIGKILL');
    await waitFor(() => !exists(first), 'the orphaned sleeper to be stopped with its group', 15_000);
    await mux.waitReady();
    const second = await sleeperPid(first);
    const newLeader = (await mux.status()).servers[0]!.pid!;

    assert.equal(await mux.stop('SIGTERM'), 0);
    await waitFor(() => !exists(second) && groupMembers(newLeader).length === 0, 'the whole new group to be gone', 2000);
  });

  it('cuts a stream still open when the drain budget runs out, and stays within gracePeriodSeconds', async () => {
    const mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      shutdown: { gracePeriodSeconds: 2 },
      servers: { raw: fixtureServer('raw-http', { terminationGracePeriodSeconds: 1 }) },
    });
    await mux.waitReady();
    const res = await fetch(`${mux.publicUrl}/raw/hold`);
    const reader = res.body!.getReader();
    await reader.read();
    const started = performance.now();
    assert.equal(await mux.stop('SIGTERM'), 0);
    const tookMs = performance.now() - started;
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) throw new Error('ended cleanly instead of being cut');
    });
    assert.ok(tookMs >= 900 && tookMs < 2500, `the held stream was drained for its 1 s budget, then cut: stop took ${tookMs.toFixed(0)} ms`);
    assert.ok(mux.logs.some((r) => r.step === 'drain-timeout' && r.cut === 1));
  });

  it('forces the stop on a second signal: every group SIGKILLed at once, exit 1', async () => {
    const mux = await startMcpmux({ servers: { stubborn: fixtureServer('ignores-sigterm', { terminationGracePeriodSeconds: 30 }) } });
    await mux.waitReady();
    const pid = (await mux.status()).servers[0]!.pid!;
    mux.proc.kill('SIGTERM');
    await mux.waitForLog((r) => r.server === 'stubborn' && r.msg === 'ignoring SIGTERM', 'the child to get SIGTERM');
    const started = performance.now();
    mux.proc.kill('SIGTERM');
    assert.equal(await mux.exited, 1);
    assert.ok(performance.now() - started < 2000);
    await waitFor(() => !exists(pid), 'the stubborn child to be gone', 2000);
  });

  it('stops what a leader that exited on its own left behind before mcpmux exits', async () => {
    const mux = await startMcpmux({
      servers: {
        // The shell ignores SIGTERM for its children too, leaves a sleep behind, and exits 1.
        leaver: { command: 'sh', args: ['-c', "trap '' TERM; sleep 313 & echo sleep pid $! >&2; sleep 0.3; exit 1"], restartPolicy: 'Never', terminationGracePeriodSeconds: 2 },
      },
    });
    const record = await mux.waitForLog((r) => r.server === 'leaver' && typeof r.msg === 'string' && r.msg.startsWith('sleep pid '), 'the sleep pid');
    const sleepPid = Number((record.msg as string).slice(10));
    await mux.waitForLog((r) => r.server === 'leaver' && r.msg === 'process exited', 'the leader to exit');
    assert.ok(exists(sleepPid), 'the orphan ignores SIGTERM and is still there');
    assert.equal(await mux.stop('SIGTERM'), 0);
    assert.ok(!exists(sleepPid), 'the orphan was stopped before mcpmux exited');
  });
});
