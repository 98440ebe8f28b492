import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSettler, isConfigMapSwap, QUIET_MS, SETTLE_MS } from '../../../src/config/settle.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/**
 * A step: `write X` (the file now holds X, an event on its name), `swap X` (X, by a ConfigMap's
 * `..data` swap), `touch` (an event, content as it was), `quietly X` (X, with no event), `remove`
 * (the file is gone, an event), `wait N` (N ms pass).
 */
type Step = string;

/** Runs the steps on a file that starts as `v1`; returns what the settler said, each with its time. */
async function run(steps: readonly Step[]): Promise<string[]> {
  const clock = new FakeClock();
  const start = clock.now();
  let content: string | undefined = 'v1';
  const said: string[] = [];
  const say = (what: string) => said.push(`${what}@${clock.now() - start}`);
  const settler = createSettler(() => content, { onChange: () => say(`change:${content}`), onSame: () => say('same'), onUnsettled: () => say('unsettled') }, { clock });
  for (const step of steps) {
    const [verb, arg] = step.split(' ') as [string, string | undefined];
    if (verb === 'wait') await clock.advance(Number(arg));
    else if (verb === 'quietly') content = arg;
    else if (verb === 'remove') (content = undefined), settler.notice('mcpmux.yaml');
    else if (verb === 'touch') settler.notice('mcpmux.yaml');
    else if (verb === 'write') (content = arg), settler.notice('mcpmux.yaml');
    else if (verb === 'swap') (content = arg), ['..2026_11_29_2', '..data_tmp', '..data'].forEach((name) => settler.notice(name));
    else throw new Error(`no such step: ${step}`);
  }
  return said;
}

const settled = QUIET_MS + SETTLE_MS;

describe('when a changed config file is applied', () => {
  const cases: [string, Step[], string[]][] = [
    ['a write is applied once it reads the same twice, SETTLE_MS apart', ['write v2', 'wait 2000'], [`unsettled@${QUIET_MS}`, `change:v2@${settled}`]],
    ['a write in two parts is applied whole, never its first half', ['write half', 'wait 400', 'write v2', 'wait 2000'], [`unsettled@${QUIET_MS}`, `unsettled@${400 + QUIET_MS}`, `change:v2@${400 + settled}`]],
    ['an event during the settle wait starts it again, even with the content as it was', ['write v2', 'wait 400', 'touch', 'wait 2000'], [`unsettled@${QUIET_MS}`, `unsettled@${400 + QUIET_MS}`, `change:v2@${400 + settled}`]],
    ['content that changed with no event between the reads is read again', ['write half', 'wait 300', 'quietly v2', 'wait 2000'], [`unsettled@${QUIET_MS}`, `unsettled@${settled}`, `change:v2@${settled + SETTLE_MS}`]],
    ['events closer than QUIET_MS are one change', ['write a', 'wait 100', 'write b', 'wait 100', 'write v2', 'wait 2000'], [`unsettled@${200 + QUIET_MS}`, `change:v2@${200 + settled}`]],
    ['a touch with the same content is no reload', ['touch', 'wait 2000'], [`same@${QUIET_MS}`]],
    ['a write back to what was applied, before it settled, is no reload', ['write v2', 'wait 300', 'write v1', 'wait 2000'], [`unsettled@${QUIET_MS}`, `same@${300 + QUIET_MS}`]],
    ['a file that is gone is no reload', ['remove', 'wait 2000'], [`same@${QUIET_MS}`]],
    ['a ConfigMap swap is applied after the quiet period alone', ['swap v2', 'wait 2000'], [`change:v2@${QUIET_MS}`]],
    ['a ConfigMap swap with the same content is no reload', ['swap v1', 'wait 2000'], [`same@${QUIET_MS}`]],
    ['each swap is one reload, and only new content reloads', ['swap v2', 'wait 1000', 'swap v2', 'wait 1000', 'swap v3', 'wait 1000'], [`change:v2@${QUIET_MS}`, `same@${1000 + QUIET_MS}`, `change:v3@${2000 + QUIET_MS}`]],
    ['a write after a swap settles again', ['swap v2', 'wait 1000', 'write v3', 'wait 2000'], [`change:v2@${QUIET_MS}`, `unsettled@${1000 + QUIET_MS}`, `change:v3@${1000 + settled}`]],
  ];
  for (const [name, steps, said] of cases) {
    it(name, async () => assert.deepEqual(await run(steps), said));
  }

  it('says nothing once stopped', async () => {
    const clock = new FakeClock();
    const said: string[] = [];
    let content = 'v1';
    const settler = createSettler(() => content, { onChange: () => said.push('change'), onSame: () => said.push('same'), onUnsettled: () => said.push('unsettled') }, { clock });
    content = 'v2';
    settler.notice('mcpmux.yaml');
    await clock.advance(QUIET_MS);
    settler.stop();
    await clock.advance(10_000);
    assert.deepEqual(said, ['unsettled']);
  });
});

describe('what counts as a ConfigMap swap', () => {
  const cases: [string | undefined, boolean][] = [
    ['..data', true],
    ['..data_tmp', true],
    ['..2026_11_29_10_00_00.123456789', true],
    ['mcpmux.yaml', false],
    ['.mcpmux.yaml.swp', false],
    ['mcpmux.yaml~', false],
    [undefined, false],
  ];
  for (const [name, swap] of cases) {
    it(`${name ?? 'an event without a name'}: ${swap ? 'a swap' : 'not a swap'}`, () => assert.equal(isConfigMapSwap(name), swap));
  }
});
