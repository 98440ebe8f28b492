/**
 * One rollout of a server at a time: one asked for by hand while another runs is refused at once
 * (busy, naming what runs); one a reload needs waits, the newest config winning; nothing is lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import type { ServerConfig } from '../../../src/config/schema.js';
import { createEvents, type LifecycleEvents } from '../../../src/events.js';
import { RolloutQueue } from '../../../src/supervisor/rollout-queue.js';
import type { RolloutResult } from '../../../src/supervisor/status.js';
import { FakeClock, settle } from '../../helpers/fake-clock.js';

const configOf = (version: string): ServerConfig => validateConfig({ servers: { echo: { command: 'node', env: { VERSION: version } } } }, '/etc/mcpmux/mcpmux.yaml').servers[0]!;

function setUp() {
  const events = createEvents();
  const seen: { name: string; payload: unknown }[] = [];
  for (const name of ['rollout-finished', 'rollout-refused', 'rollout-queued'] as const) events.on(name, (payload: LifecycleEvents[typeof name]) => seen.push({ name, payload }));
  /** Each rollout the queue runs, in order: its config's VERSION, and how the test ends it. */
  const rolls: { version: string; end: (result: RolloutResult) => void }[] = [];
  const queue = new RolloutQueue('echo', events, new FakeClock(), (config) => new Promise((end) => rolls.push({ version: config.env.VERSION!, end })));
  return { queue, rolls, seen };
}

describe('one rollout of a server at a time', () => {
  it('refuses a rollout asked for by hand while one runs, at once, naming the one that runs', async () => {
    const { queue, rolls, seen } = setUp();
    const first = queue.start(configOf('1'), 'mcpmux rollout');
    const second = await queue.start(configOf('2'), 'mcpmux rollout');
    assert.deepEqual(second, {
      ok: false,
      busy: true,
      reason: `a rollout of echo is under way (since ${new Date(1_000_000).toISOString()}, asked by mcpmux rollout)`,
      running: { since: new Date(1_000_000).toISOString(), trigger: 'mcpmux rollout' },
    });
    assert.equal(rolls.length, 1, 'the refused one started nothing');
    rolls[0]!.end({ ok: true, pid: 7 });
    assert.deepEqual(await first, { ok: true, pid: 7 });
    assert.deepEqual(seen.map((e) => e.name), ['rollout-refused', 'rollout-finished']);
    assert.equal(queue.running, undefined);
  });

  it('takes a rollout by hand again once the one that ran has ended', async () => {
    const { queue, rolls } = setUp();
    const first = queue.start(configOf('1'), 'mcpmux rollout');
    rolls[0]!.end({ ok: false, reason: 'the new process ended before it was ready' });
    await first;
    const second = queue.start(configOf('2'), 'mcpmux rollout');
    assert.equal(rolls.length, 2);
    rolls[1]!.end({ ok: true, pid: 8 });
    assert.deepEqual(await second, { ok: true, pid: 8 });
  });

  const queued: [string, string[], string][] = [
    ['one reload waits for the rollout under way, then runs', ['2'], '2'],
    ['a later reload replaces the one waiting: the newest config wins', ['2', '3', '4'], '4'],
  ];
  for (const [name, versions, ran] of queued) {
    it(name, async () => {
      const { queue, rolls, seen } = setUp();
      const manual = queue.start(configOf('1'), 'mcpmux rollout');
      const waiting = versions.map((v) => queue.enqueue(configOf(v), 'reload (SIGHUP)'));
      assert.equal(rolls.length, 1, 'nothing starts beside the running rollout');
      rolls[0]!.end({ ok: true, pid: 1 });
      await manual;
      assert.deepEqual(rolls.map((r) => r.version), ['1', ran], 'one rollout follows, on the newest config');
      const late = await queue.start(configOf('9'), 'mcpmux rollout');
      assert.equal(!late.ok && late.busy, true, 'the queued one started before a rollout by hand could slip in');
      assert.equal(queue.running?.trigger, 'reload (SIGHUP)');
      assert.equal(rolls.length, 2);
      rolls[1]!.end({ ok: true, pid: 2 });
      assert.deepEqual(await Promise.all(waiting), versions.map(() => ({ ok: true, pid: 2 })), 'every reload that waited gets the result');
      assert.deepEqual(seen.filter((e) => e.name === 'rollout-queued').map((e) => (e.payload as { replaced: boolean }).replaced), versions.map((_, i) => i > 0));
    });
  }

  it('runs a reload\'s rollout at once when none runs', async () => {
    const { queue, rolls } = setUp();
    const result = queue.enqueue(configOf('2'), 'reload (SIGHUP)');
    assert.deepEqual(rolls.map((r) => r.version), ['2']);
    rolls[0]!.end({ ok: true, pid: 3 });
    assert.deepEqual(await result, { ok: true, pid: 3 });
  });

  it('gives the rollout waiting a newer config that touches no process (retarget)', async () => {
    const { queue, rolls } = setUp();
    void queue.start(configOf('1'), 'mcpmux rollout');
    void queue.enqueue(configOf('2'), 'reload (SIGHUP)');
    queue.retarget(configOf('3'));
    rolls[0]!.end({ ok: true, pid: 1 });
    await settle();
    assert.deepEqual(rolls.map((r) => r.version), ['1', '3']);
  });

  it('drops the rollout waiting when the server stops, and answers it', async () => {
    const { queue, rolls } = setUp();
    void queue.start(configOf('1'), 'mcpmux rollout');
    const waiting = queue.enqueue(configOf('2'), 'reload (SIGHUP)');
    queue.drop('the server is stopping');
    assert.deepEqual(await waiting, { ok: false, reason: 'the server is stopping' });
    rolls[0]!.end({ ok: false, reason: 'the server is stopping' });
    await settle();
    assert.equal(rolls.length, 1, 'nothing runs after it');
  });
});
