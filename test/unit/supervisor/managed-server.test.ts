/**
 * A server made of replicas, with an injected clock and spawn: its state from its replicas', a
 * rollout one replica at a time, and a new replica count from a reload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { createEvents } from '../../../src/events.js';
import { ManagedServer } from '../../../src/supervisor/managed-server.js';
import { FakeClock, settle } from '../../helpers/fake-clock.js';
import { FakeRun } from '../../helpers/fake-run.js';

function setUp(replicas: number) {
  const configOf = (n: number, fields: Record<string, unknown> = {}) => validateConfig({ servers: { echo: { command: 'node', replicas: n, ...fields } } }, '/etc/mcpmux/mcpmux.yaml').servers[0]!;
  const clock = new FakeClock();
  const events = createEvents();
  const states: string[] = [];
  events.on('state-changed', ({ to }) => states.push(to));
  const runs: FakeRun[] = [];
  const server = new ManagedServer(configOf(replicas), events, {
    clock,
    spawnRun: async (config, _events, _output, hooks) => {
      const run = new FakeRun(config, runs.length + 1, clock.now(), hooks);
      runs.push(run);
      return run;
    },
  });
  return { server, runs, states, configOf, clock };
}

describe('a server of replicas', () => {
  it('is ready while any replica is, and unready only when none is', async () => {
    const { server, runs, states } = setUp(3);
    await server.start();
    assert.equal(runs.length, 3);
    runs[1]!.turnReady();
    assert.equal(server.state, 'ready');
    runs[0]!.turnReady();
    runs[1]!.turnReady(false);
    assert.equal(server.state, 'ready', 'one replica unready: the server stays ready');
    runs[0]!.turnReady(false);
    assert.equal(server.state, 'unready');
    assert.deepEqual(states, ['starting', 'ready', 'unready']);
    assert.deepEqual(server.status().replicas.map((r) => r.state), ['unready', 'unready', 'starting']);
  });

  it('rolls its replicas one at a time: each new process ready before the next replica starts one', async () => {
    const { server, runs } = setUp(2);
    await server.start();
    for (const run of runs) run.turnReady();
    const rollout = server.rollout();
    await settle();
    assert.equal(runs.length, 3, 'one new process at a time');
    runs[2]!.turnReady();
    await settle();
    assert.equal(runs.length, 4);
    runs[3]!.turnReady();
    assert.deepEqual(await rollout, { ok: true, pid: 4 });
    assert.deepEqual(server.status().replicas.map((r) => r.pid), [3, 4]);
  });

  it('takes a new replica count: new replicas start, extras drain and stop, the rest are untouched', async () => {
    const { server, runs, configOf, clock } = setUp(2);
    await server.start();
    for (const run of runs) run.turnReady();
    await server.scale(configOf(4));
    assert.equal(runs.length, 4);
    runs[2]!.turnReady();
    runs[3]!.turnReady();
    assert.deepEqual(server.status().replicas.map((r) => r.pid), [1, 2, 3, 4]);
    const shrinking = server.scale(configOf(1));
    await clock.advance(50);
    await shrinking;
    assert.deepEqual(server.status().replicas.map((r) => r.pid), [1]);
    assert.deepEqual(runs.map((r) => r.exited), [false, true, true, true]);
    assert.equal(server.state, 'ready');
  });
  it('refuses a rollout by hand while one runs, at once and without a process, and takes one again after', async () => {
    const { server, runs } = setUp(1);
    await server.start();
    runs[0]!.turnReady();
    const first = server.rollout();
    await settle();
    const second = await server.rollout();
    assert.equal(!second.ok && second.busy, true);
    assert.match(second.ok ? '' : second.reason, /^a rollout of echo is under way \(since .+, asked by mcpmux rollout\)$/);
    assert.equal(runs.length, 2, 'the refused rollout started no process');
    runs[1]!.turnReady();
    assert.deepEqual(await first, { ok: true, pid: 2 });
    const third = server.rollout();
    await settle();
    runs[2]!.turnReady();
    assert.deepEqual(await third, { ok: true, pid: 3 });
  });

  it('applies a reload\'s rollout after the one under way, on the newest config (a later update included)', async () => {
    const { server, runs, configOf } = setUp(1);
    await server.start();
    runs[0]!.turnReady();
    const manual = server.rollout();
    await settle();
    const queued = server.queueRollout(configOf(1, { env: { V: '2' } }), 'reload (SIGHUP)');
    server.updateConfig(configOf(1, { env: { V: '2' }, drainSeconds: 5 }));
    await settle();
    assert.equal(runs.length, 2, 'the reload\'s rollout waits');
    runs[1]!.turnReady();
    assert.deepEqual(await manual, { ok: true, pid: 2 });
    await settle();
    assert.equal(runs.length, 3, 'then it runs');
    assert.deepEqual([runs[2]!.config.env, runs[2]!.config.drainSeconds], [{ V: '2' }, 5]);
    runs[2]!.turnReady();
    assert.deepEqual(await queued, { ok: true, pid: 3 });
    assert.equal(server.config.drainSeconds, 5);
    assert.equal(server.rolloutRunning, undefined);
  });

  it('keeps an update that came during a rollout: the server ends on the newest config', async () => {
    const { server, runs, configOf } = setUp(1);
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout();
    await settle();
    server.updateConfig(configOf(1, { drainSeconds: 7 }));
    runs[1]!.turnReady();
    await rollout;
    assert.equal(server.config.drainSeconds, 7);
    assert.equal(server.replicas[0]!.config.drainSeconds, 7);
  });
});
