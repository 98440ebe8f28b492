/**
 * mcpmux as PID 1 of a container, proven in a new PID namespace. The image runs it under tini,
 * which reaps the zombies that get re-parented to PID 1; without tini they pile up, because Node
 * only reaps the children it spawned itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureDebianCommand } from '../helpers/debian.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { descendantsOf } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const config = { listen: { host: '127.0.0.1' }, servers: { orphans: fixtureServer('orphan-maker') } };

async function makeOrphans(mux: Mcpmux, count: number): Promise<void> {
  for (let i = 0; i < count; i++) assert.equal((await fetch(`${mux.publicUrl}/orphans/orphan`)).status, 200);
}

/** The process inside the namespace that is PID 1 there: the child of `unshare --fork`. */
function namespaceInit(mux: Mcpmux): number {
  const init = descendantsOf(mux.proc.pid!).find((p) => p.ppid === mux.proc.pid);
  assert.ok(init, 'unshare has forked its PID 1');
  return init.pid;
}

describe('PID 1 in a PID namespace', () => {
  let unshare: string;
  let tini: string;
  before(() => {
    unshare = ensureDebianCommand('unshare', 'util-linux');
    tini = ensureDebianCommand('tini', 'tini');
  });
  after(stopAll);

  it('under tini: re-parented zombies are reaped, and SIGTERM stops everything with exit 0', async () => {
    const mux = await startMcpmux(config, { wrapper: [unshare, '--pid', '--fork', '--mount-proc', tini, '--'] });
    await mux.waitReady();
    await makeOrphans(mux, 5);
    await waitFor(() => descendantsOf(mux.proc.pid!).every((p) => p.comm !== 'sleep'), 'the orphaned sleeps to exit and be reaped', 5000);

    process.kill(namespaceInit(mux), 'SIGTERM');
    assert.equal(await mux.exited, 0);
    assert.ok(mux.logs.some((r) => r.step === 'stopped'), 'mcpmux went through its graceful stop');
    assert.deepEqual(descendantsOf(mux.proc.pid!), []);
  });

  it('as PID 1 itself: SIGTERM still stops everything with exit 0, but zombies pile up (hence tini)', async () => {
    const mux = await startMcpmux(config, { wrapper: [unshare, '--pid', '--fork', '--mount-proc'] });
    await mux.waitReady();
    await mux.waitForLog((r) => r.level === 'warn' && typeof r.msg === 'string' && r.msg.startsWith('running as PID 1'), 'the PID 1 warning');
    await makeOrphans(mux, 3);
    await waitFor(() => descendantsOf(mux.proc.pid!).filter((p) => p.comm === 'sleep' && p.state === 'Z').length === 3, 'three unreaped zombies', 5000);

    process.kill(namespaceInit(mux), 'SIGTERM');
    assert.equal(await mux.exited, 0);
    assert.deepEqual(descendantsOf(mux.proc.pid!), []);
  });
});
