import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitWarnings, type TracingWarning, type TracingWarningKind } from '../../../src/tracing/warnings.js';

describe('tracing warnings, one per kind a minute', () => {
  const cases: [string, [at: number, kind: TracingWarningKind][], [kind: TracingWarningKind, suppressed: number][]][] = [
    ['the first of a kind is given', [[0, 'export']], [['export', 0]]],
    ['another of that kind within the minute is held back', [[0, 'export'], [59_999, 'export']], [['export', 0]]],
    ['another kind is given at once', [[0, 'export'], [1, 'queue']], [['export', 0], ['queue', 0]]],
    ['a minute on, the next is given, with the count held back', [[0, 'export'], [10, 'export'], [20, 'export'], [60_000, 'export']], [['export', 0], ['export', 2]]],
  ];
  for (const [name, calls, expected] of cases) {
    it(name, () => {
      const given: TracingWarning[] = [];
      let now = 0;
      const warn = limitWarnings((w) => given.push(w), () => now);
      for (const [at, kind] of calls) {
        now = at;
        warn(kind, `${kind} at ${at}`);
      }
      assert.deepEqual(given.map((w) => [w.kind, w.suppressed]), expected);
    });
  }

  it('never throws when the listener does', () => {
    const warn = limitWarnings(() => {
      throw new Error('a broken listener');
    });
    assert.doesNotThrow(() => warn('sdk', 'x'));
  });
});
