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
  const configOf = (n: number) => validateConfig({ servers: { echo: { command: 'node', replicas: n } } }, '/etc/mcpmux/mcpmux.yaml').servers[0]!;
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
});
