/**
 * A fixed port still held by a dying process group does not make the restarted process fail; one
 * held by something else (an orphan of an earlier run) is reported, with who holds it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { exists, groupMembers } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

describe('a fixed port', () => {
  after(stopAll);

  it('waits for the old group to let go of the port, then restarts once', async () => {
    const port = await freePort();
    const mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      servers: {
        fixed: {
          // sh is the leader; its child holds the port and ignores SIGTERM, so it outlives the
          // leader by terminationGracePeriodSeconds.
          command: 'sh',
          args: ['-c', `"${process.execPath}" "${fixture('ignores-sigterm')}"; true`],
          port,
          terminationGracePeriodSeconds: 1,
          backoff: { initialSeconds: 0.1 },
        },
      },
    });
    await mux.waitReady();
    const leader = (await mux.status()).servers[0]!.pid!;
    const oldGroup = groupMembers(leader).map((p) => p.pid);
    assert.equal(oldGroup.length, 2, 'sh and the port holder');
    process.kill(leader, 'SIGKILL');
    await waitFor(() => oldGroup.every((pid) => !exists(pid)), 'the old group to be gone (SIGKILL after its 1 s grace)', 5000);
    await waitFor(async () => {
      const s = (await mux.status()).servers[0]!;
      return s.state === 'ready' && s.pid !== leader;
    }, 'the server to be ready again', 10_000);
    const status = (await mux.status()).servers[0]!;
    assert.equal(status.port, port);
    assert.equal(status.restarts, 1, 'no restart failed on a port still in use');
    assert.ok(!mux.logs.some((r) => typeof r.msg === 'string' && r.msg.includes('EADDRINUSE')));
    assert.equal((await fetch(`${mux.publicUrl}/fixed/`)).status, 200);
  });

  it('says which process holds the port instead of starting a process to crash on it, and starts once it is free', async () => {
    const port = await freePort();
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve, reject) => {
        holder.stdout.once('data', resolve);
        holder.once('exit', reject);
      });
      const mux = await startMcpmux({
        listen: { host: '127.0.0.1' },
        servers: {
          fixed: { command: process.execPath, args: [fixture('raw-http')], port, terminationGracePeriodSeconds: 0.5, backoff: { initialSeconds: 0.1, maxSeconds: 0.2 } },
        },
      });
      const held = `port ${port} is held by pid ${holder.pid} (node), not a process of this mcpmux: an orphan of an earlier run?`;
      const lastExit = await waitFor(async () => {
        const exit = (await mux.status()).servers[0]!.lastExit as { reason: string; error: string } | null;
        return exit?.reason === 'port-in-use' ? exit : undefined;
      }, 'the server to record port-in-use', 10_000);
      assert.equal(lastExit.error, held);
      await mux.waitForLog((r) => r.server === 'fixed' && r.level === 'error' && r.error === held, 'a log record naming the holder');
      assert.ok(!mux.logs.some((r) => r.msg === 'process started' && r.server === 'fixed'), 'no process was started to crash on the port');

      holder.kill('SIGKILL');
      await waitFor(async () => (await mux.status()).servers[0]!.state === 'ready', 'the server to start once the port is free', 10_000);
      assert.equal(await (await fetch(`${mux.publicUrl}/fixed/early`)).text(), 'early');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
