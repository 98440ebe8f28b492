/**
 * A replica's state machine (one process slot of a server), with an injected clock and spawn: restarts and backoff, readiness,
 * restart policies, and rollouts (take-over, drain, failure), each rule in its own case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import type { ServerConfig } from '../../../src/config/schema.js';
import { createEvents, type LifecycleEvents } from '../../../src/events.js';
import type { Endpoint } from '../../../src/routing/endpoint.js';
import { Replica } from '../../../src/supervisor/replica.js';
import { FakeClock, settle } from '../../helpers/fake-clock.js';
import { FakeRun } from '../../helpers/fake-run.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

/** What a test holds a spawn at: the replica awaits it until the test lets it go (or makes it fail). */
interface HeldSpawn {
  release(): void;
  fail(error: Error): void;
}

function setUp(fields: Record<string, unknown> = {}) {
  const config = validateConfig({ servers: { echo: { command: 'node', ...fields } } }, '/etc/mcpmux/mcpmux.yaml').servers[0]!;
  const clock = new FakeClock();
  const events = createEvents();
  const seen: [keyof LifecycleEvents, unknown][] = [];
  for (const name of ['endpoint-ready', 'endpoint-unready', 'endpoint-draining', 'endpoint-gone', 'restart-scheduled', 'process-drained'] as const) {
    events.on(name, (payload) => seen.push([name, payload]));
  }
  const runs: FakeRun[] = [];
  const changes: string[] = [];
  /** With `holdSpawns` set, each spawn waits here until the test releases it. */
  const held: HeldSpawn[] = [];
  let holdSpawns = false;
  const server = new Replica(config, events, 0, (_replica, _from, to) => changes.push(to), {
    clock,
    spawnRun: async (runConfig, _events, _output, hooks) => {
      if (holdSpawns) await new Promise<void>((release, fail) => held.push({ release, fail }));
      const run = new FakeRun(runConfig, runs.length + 1, clock.now(), hooks);
      runs.push(run);
      return run;
    },
  });
  const states = () => changes;
  const named = (name: keyof LifecycleEvents) => seen.filter(([n]) => n === name).map(([, p]) => p);
  const holdNextSpawns = () => void (holdSpawns = true);
  return { config, clock, server, runs, states, named, held, holdNextSpawns };
}

/** Whether a promise has settled yet (after letting every chain so far run). */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true), () => (settled = true));
  await settle();
  return settled;
}

describe('a replica of a server, as a state machine', () => {
  it('starts, turns ready when its process does, and publishes the endpoint', async () => {
    const { server, runs, states, named } = setUp();
    await server.start();
    assert.equal(server.state, 'starting');
    runs[0]!.turnReady();
    assert.equal(server.state, 'ready');
    assert.deepEqual(states(), ['starting', 'ready']);
    assert.equal((named('endpoint-ready')[0] as { endpoint: Endpoint }).endpoint.pid, 1);
  });

  it('turns unready and ready again with the readiness probe, and keeps the process', async () => {
    const { server, runs, states, named } = setUp();
    await server.start();
    runs[0]!.turnReady();
    runs[0]!.turnReady(false);
    runs[0]!.turnReady();
    assert.deepEqual(states(), ['starting', 'ready', 'unready', 'ready']);
    assert.equal(named('endpoint-unready').length, 1);
    assert.equal(runs.length, 1);
  });

  const backoffCases: [string, Record<string, unknown>, number[]][] = [
    ['is nothing the first time, then doubles from initialSeconds up to maxSeconds', { backoff: { initialSeconds: 0.5, maxSeconds: 2 } }, [0, 500, 1000, 2000, 2000]],
    ['uses its own initialSeconds', { backoff: { initialSeconds: 3, maxSeconds: 30 } }, [0, 3000, 6000, 12000, 24000]],
  ];
  for (const [name, fields, delays] of backoffCases) {
    it(`restarts a crashed process after a backoff that ${name}`, async () => {
      const { server, runs, clock, named } = setUp(fields);
      await server.start();
      for (const [i, delay] of delays.entries()) {
        runs[i]!.exit(1);
        assert.equal(server.state, 'backoff');
        if (delay > 0) {
          await clock.advance(delay - 1);
          assert.equal(runs.length, i + 1, `no restart before ${delay} ms`);
        }
        await clock.advance(delay > 0 ? 1 : 0);
        assert.equal(runs.length, i + 2, `a restart at ${delay} ms`);
      }
      assert.deepEqual(named('restart-scheduled').map((p) => (p as { delayMs: number }).delayMs), delays);
      assert.equal(server.status().restarts, delays.length);
    });
  }

  it('forgets earlier crashes once a process has run resetAfterSeconds', async () => {
    const { server, runs, clock, named } = setUp({ backoff: { initialSeconds: 1, maxSeconds: 30, resetAfterSeconds: 60 } });
    await server.start();
    runs[0]!.exit(1);
    await clock.advance(1000);
    runs[1]!.exit(1);
    await clock.advance(2000);
    await clock.advance(60_000);
    runs[2]!.exit(1);
    assert.deepEqual(named('restart-scheduled').map((p) => (p as { delayMs: number }).delayMs), [0, 1000, 0]);
  });

  const policyCases: [string, number, string][] = [
    ['Never', 1, 'failed'],
    ['Never', 0, 'stopped'],
    ['OnFailure', 0, 'stopped'],
    ['OnFailure', 1, 'backoff'],
    ['Always', 0, 'backoff'],
  ];
  for (const [policy, code, state] of policyCases) {
    it(`with restartPolicy ${policy}, an exit with code ${code} leaves it ${state}`, async () => {
      const { server, runs } = setUp({ restartPolicy: policy });
      await server.start();
      runs[0]!.turnReady();
      runs[0]!.exit(code);
      assert.equal(server.state, state);
    });
  }

  it('rolls out: a second process, the route switched once it is ready, the old one drained and stopped', async () => {
    const { server, runs, clock, named } = setUp();
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout();
    await settle();
    assert.equal(runs.length, 2, 'a new process beside the old one');
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[1, 'current'], [2, 'replacement']]);
    runs[0]!.endpoint!.sessions = 1;
    runs[1]!.turnReady();
    assert.deepEqual(await rollout, { ok: true, pid: 2 });
    assert.equal(server.state, 'ready');
    assert.deepEqual(named('endpoint-draining').map((p) => (p as { endpoint: Endpoint }).endpoint.pid), [1]);
    await clock.advance(30_000);
    assert.equal(runs[0]!.exited, false, 'a live session keeps the old process');
    runs[0]!.endpoint!.sessions = 0;
    await clock.advance(50);
    assert.equal(runs[0]!.stopReason, 'replaced');
    assert.deepEqual(named('process-drained'), [{ server: 'echo', pid: 1, idle: true, inFlight: 0, sessions: 0 }]);
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[2, 'current']]);
    assert.equal(runs.length, 2, 'the drained exit restarts nothing');
  });

  it('stops a draining process with work left once drainSeconds pass', async () => {
    const { server, runs, clock, named } = setUp({ drainSeconds: 10 });
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout();
    await settle();
    runs[0]!.endpoint!.inFlight = 2;
    runs[1]!.turnReady();
    await rollout;
    await clock.advance(9_900);
    assert.equal(runs[0]!.exited, false);
    await clock.advance(200);
    assert.equal(runs[0]!.stopReason, 'replaced');
    assert.deepEqual(named('process-drained'), [{ server: 'echo', pid: 1, idle: false, inFlight: 2, sessions: 0 }]);
  });

  it('fails a rollout whose new process ends before it is ready: the old one keeps serving, nothing restarts', async () => {
    const { server, runs, clock } = setUp();
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout(validateConfig({ servers: { echo: { command: 'node', env: { V: '2' } } } }, '/etc/mcpmux/mcpmux.yaml').servers[0]!);
    await settle();
    runs[1]!.exit(3);
    assert.deepEqual(await rollout, { ok: false, reason: 'the new process ended before it was ready (crashed, code 3)' });
    await clock.advance(60_000);
    assert.equal(runs.length, 2);
    assert.equal(server.state, 'ready');
    assert.deepEqual(server.config.env, {}, 'still the old config');
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[1, 'current']]);
  });

  it('restarts in place when it has a fixed port', async () => {
    const { server, runs, clock } = setUp({ port: await freePort() });
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout();
    await settle();
    assert.equal(runs[0]!.stopReason, 'replaced', 'the old process goes first');
    // The fixed port is checked free for real before the new process starts.
    await waitFor(() => runs.length === 2, 'the new process');
    runs[1]!.turnReady();
    await clock.advance(20);
    assert.deepEqual(await rollout, { ok: true, pid: 2 });
  });

  it('stops every process, a draining one and a replacement included', async () => {
    const { server, runs } = setUp();
    await server.start();
    runs[0]!.turnReady();
    const first = server.rollout();
    await settle();
    runs[0]!.endpoint!.sessions = 1;
    runs[1]!.turnReady();
    await first;
    const second = server.rollout();
    await settle();
    await server.stop();
    assert.deepEqual(await second, { ok: false, reason: 'the server is stopping' });
    assert.deepEqual(runs.map((r) => r.exited), [true, true, true]);
    assert.equal(server.state, 'stopped');
  });
  it('owns every process a rollout spawns: a newer rollout during the spawn ends the older one\'s process, and both answer', async () => {
    const { server, runs, held, holdNextSpawns } = setUp();
    await server.start();
    runs[0]!.turnReady();
    holdNextSpawns();
    const first = server.rollout();
    await settle();
    const second = server.rollout();
    await settle();
    assert.equal(held.length, 2, 'two spawns under way');
    held[0]!.release();
    await settle();
    held[1]!.release();
    await settle();
    assert.equal(await hasSettled(first), true, 'the first rollout answers');
    assert.deepEqual(await first, { ok: false, reason: 'replaced by a newer rollout' });
    assert.equal(runs.length, 3);
    assert.equal(runs[1]!.exited, true, 'the process the first rollout spawned is ended, not left unowned');
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[1, 'current'], [3, 'replacement']]);
    runs[2]!.turnReady();
    assert.deepEqual(await second, { ok: true, pid: 3 });
  });

  const duringSpawn: [string, (server: Replica) => Promise<void>, string][] = [
    ['a stop', (server) => server.stop(), 'the server is stopping'],
    ['a forced stop', (server) => server.kill(), 'the server is stopping'],
    ['a retire (scale-down, removal)', (server) => server.retire(), 'the server was removed'],
  ];
  for (const [what, end, reason] of duringSpawn) {
    it(`waits, in ${what} during a rollout's spawn, for the process being spawned, and ends it`, async () => {
      const { server, runs, held, holdNextSpawns, clock } = setUp();
      await server.start();
      runs[0]!.turnReady();
      holdNextSpawns();
      const rollout = server.rollout();
      await settle();
      const ended = end(server);
      void clock.advance(100);
      assert.equal(await hasSettled(ended), false, `${what} waits for the spawn under way`);
      assert.equal(await hasSettled(rollout), true, 'the rollout answers at once');
      assert.deepEqual(await rollout, { ok: false, reason });
      held[0]!.release();
      await clock.advance(100);
      await ended;
      assert.deepEqual(runs.map((r) => r.exited), [true, true], 'no process outlives it');
      assert.deepEqual(server.status().processes, []);
    });
  }

  it('answers a rollout whose new process cannot be spawned, and keeps the old one', async () => {
    const { server, runs, held, holdNextSpawns } = setUp();
    await server.start();
    runs[0]!.turnReady();
    holdNextSpawns();
    const rollout = server.rollout();
    await settle();
    held[0]!.fail(new Error('ENOENT'));
    assert.equal(await hasSettled(rollout), true, 'the rollout answers');
    assert.deepEqual(await rollout, { ok: false, reason: 'the new process could not be started: ENOENT' });
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[1, 'current']]);
  });

  it('never starts a second process over one that serves: a restart due while a replacement took over is dropped', async () => {
    const { server, runs, held, holdNextSpawns, clock } = setUp();
    await server.start();
    runs[0]!.turnReady();
    const rollout = server.rollout();
    await settle();
    holdNextSpawns();
    runs[0]!.exit(1);
    await clock.advance(0);
    assert.equal(held.length, 1, 'a restart of the crashed process is spawning');
    runs[1]!.turnReady();
    assert.deepEqual(await rollout, { ok: true, pid: 2 });
    held[0]!.release();
    await settle();
    assert.equal(runs.length, 3);
    assert.equal(runs[2]!.exited, true, 'the restart\'s process is ended: the replacement serves');
    assert.deepEqual(server.status().processes.map((p) => [p.pid, p.role]), [[2, 'current']]);
    assert.equal(server.state, 'ready');
  });

  it('restarts in place once for two overlapping in-place rollouts: one process, never two', async () => {
    const { server, runs, clock } = setUp({ port: await freePort() });
    await server.start();
    runs[0]!.turnReady();
    const first = server.rollout();
    const second = server.rollout();
    await waitFor(() => runs.length >= 2, 'the new process');
    await clock.advance(2000);
    runs.at(-1)!.turnReady();
    await clock.advance(20);
    const both = Promise.all([first, second]);
    assert.equal(await hasSettled(both), true, 'both rollouts answer');
    const results = await both;
    assert.equal(runs.filter((r) => !r.exited).length, 1, 'one process left');
    assert.ok(results.every((r) => r.ok), JSON.stringify(results));
  });
});
