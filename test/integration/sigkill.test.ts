/**
 * mcpmux SIGKILLed (the OOM killer) leaves nothing running: its watchdog, which sees mcpmux's end
 * of a pipe close, stops every child group, grandchildren included.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { WATCHDOG_NAME } from '../../src/supervisor/watchdog.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { groupMembers, listProcs, readProc, type ProcInfo } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const config = {
  listen: { host: '127.0.0.1' },
  servers: {
    plain: fixtureServer('raw-http'),
    // Its grandchild `sleep` ignores SIGTERM (an ignored signal stays ignored across exec, and
    // sleep does not reset it), so only the watchdog's SIGKILL ends it.
    wrapped: { command: 'sh', args: ['-c', `trap '' TERM; sleep 313 & exec "${process.execPath}" "${fixture('raw-http')}"`] },
  },
};

/** mcpmux's running watchdog: its child, not a zombie, whose command line ends with the watchdog's $0. */
function watchdogOf(mux: Mcpmux): ProcInfo | undefined {
  return listProcs().find((p) => p.ppid === mux.proc.pid && p.state !== 'Z' && commandLine(p.pid).at(-1) === WATCHDOG_NAME);
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Gone, or a zombie: it no longer runs. A process re-parented when mcpmux died is PID 1's to reap,
 * and the PID 1 of the sandbox these tests run in reaps only every ~2 s; a zombie counts as ended.
 */
function ended(pid: number): boolean {
  const proc = readProc(pid);
  return proc === undefined || proc.state === 'Z';
}

/** Every pid in the groups of mcpmux's children, once both servers are ready. */
async function childGroups(mux: Mcpmux): Promise<ProcInfo[]> {
  await mux.waitReady();
  const leaders = (await mux.status()).servers.map((s) => s.pid!);
  assert.equal(leaders.length, 2);
  const members = leaders.flatMap((leader) => groupMembers(leader));
  assert.ok(members.some((p) => p.comm === 'sleep'), 'the grandchild is in its parent\'s group');
  return members;
}

describe('mcpmux SIGKILLed', () => {
  after(stopAll);

  it('leaves no child or grandchild running', async () => {
    const mux = await startMcpmux(config);
    const members = await childGroups(mux);
    const watchdog = watchdogOf(mux);
    assert.ok(watchdog, 'mcpmux has started its watchdog');
    assert.equal(watchdog.pgrp, watchdog.pid, 'the watchdog leads its own group, out of reach of a signal to mcpmux\'s');

    mux.proc.kill('SIGKILL');
    assert.equal(await mux.exited, 'SIGKILL');
    await waitFor(() => members.every((p) => ended(p.pid)), 'every process of the children\'s groups to end', 5000);
    await waitFor(() => ended(watchdog.pid), 'the watchdog to exit', 2000);
  });

  it('restarts a killed watchdog, which then still cleans up after a SIGKILL of mcpmux', async () => {
    const mux = await startMcpmux(config);
    const members = await childGroups(mux);
    const first = watchdogOf(mux);
    assert.ok(first, 'mcpmux has started its watchdog');

    process.kill(first.pid, 'SIGKILL');
    // The killed one may linger a moment (a zombie until mcpmux reaps it, or still dying).
    const second = await waitFor(() => {
      const found = watchdogOf(mux);
      return found && found.pid !== first.pid && found;
    }, 'a new watchdog', 5000);
    assert.ok((await mux.status()).servers.every((s) => s.state === 'ready'), 'the servers did not notice');

    mux.proc.kill('SIGKILL');
    assert.equal(await mux.exited, 'SIGKILL');
    await waitFor(() => members.every((p) => ended(p.pid)), 'every process of the children\'s groups to end', 5000);
  });
});
