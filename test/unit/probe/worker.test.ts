import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProbeOutcome } from '../../../src/probe/result.js';
import { applyOutcome, ProbeWorker, type ThresholdState, type Verdict } from '../../../src/probe/worker.js';

const thresholds = { successThreshold: 2, failureThreshold: 3 };

describe('probe thresholds', () => {
  const cases: [string, Verdict, ProbeOutcome[], Verdict][] = [
    ['one success is not enough when successThreshold is 2', 'failure', ['success'], 'failure'],
    ['two successes in a row pass', 'failure', ['success', 'success'], 'success'],
    ['a failure between successes starts over', 'failure', ['success', 'failure', 'success'], 'failure'],
    ['two failures do not fail when failureThreshold is 3', 'success', ['failure', 'failure'], 'success'],
    ['three failures in a row fail', 'success', ['failure', 'failure', 'failure'], 'failure'],
    ['a success between failures starts over', 'success', ['failure', 'failure', 'success', 'failure', 'failure'], 'success'],
    ['unknown never counts as a failure', 'success', ['failure', 'failure', 'unknown', 'unknown', 'unknown'], 'success'],
    ['unknown does not break a run of failures either', 'success', ['failure', 'unknown', 'failure', 'failure'], 'failure'],
    ['unknown never counts as a success', 'failure', ['unknown', 'unknown'], 'failure'],
  ];
  for (const [name, initial, outcomes, expected] of cases) {
    it(name, () => {
      let state: ThresholdState = { verdict: initial, successes: 0, failures: 0 };
      for (const outcome of outcomes) state = applyOutcome(state, outcome, thresholds);
      assert.equal(state.verdict, expected);
    });
  }
});

describe('ProbeWorker.tick', () => {
  function workerWith(outcomes: ProbeOutcome[], initialVerdict: Verdict) {
    const verdicts: Verdict[] = [];
    const worker = new ProbeWorker({
      probe: { tcpSocket: {}, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, ...thresholds },
      initialVerdict,
      run: async () => ({ outcome: outcomes.shift()!, message: '' }),
      onVerdict: (v) => void verdicts.push(v),
    });
    return { worker, verdicts };
  }

  it('reports a change of verdict once', async () => {
    const { worker, verdicts } = workerWith(['success', 'success', 'success'], 'failure');
    for (let i = 0; i < 3; i++) await worker.tick();
    assert.deepEqual(verdicts, ['success']);
  });

  it('reports reaching the failure threshold even when the verdict was already failure', async () => {
    const { worker, verdicts } = workerWith(['failure', 'failure', 'failure', 'failure'], 'failure');
    for (let i = 0; i < 4; i++) await worker.tick();
    assert.deepEqual(verdicts, ['failure']);
  });

  it('ignores a result that arrives after stop()', async () => {
    const { worker, verdicts } = workerWith(['success', 'success'], 'failure');
    await worker.tick();
    const pending = worker.tick();
    worker.stop();
    await pending;
    assert.deepEqual(verdicts, []);
  });
});
