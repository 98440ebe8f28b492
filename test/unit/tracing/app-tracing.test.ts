import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSampler, describeTracing } from '../../../src/tracing/app-tracing.js';
import { DEFAULT_QUEUE } from '../../../src/tracing/settings.js';

describe('tracing, as the log and mcpmux check say it', () => {
  const cases: [boolean, number, string][] = [
    [true, 1, 'parent-based always on'],
    [true, 0, 'parent-based always off'],
    [true, 0.1, 'parent-based ratio 0.1'],
    [false, 1, 'always on'],
    [false, 0.5, 'ratio 0.5'],
  ];
  for (const [parentBased, ratio, said] of cases) {
    it(`a sampler ${said}`, () => assert.equal(describeSampler({ parentBased, ratio }), said));
  }

  it('names the traces URL, the service, the sampler and serverEnv, never the headers', () => {
    const line = describeTracing({ tracesUrl: 'http://c:4318/v1/traces', headers: { authorization: 'Bearer secret' }, serviceName: 'gw', resourceAttributes: {}, sampler: { parentBased: true, ratio: 1 }, serverEnv: true, queue: DEFAULT_QUEUE });
    assert.equal(line, "tracing: on, http://c:4318/v1/traces, service gw, sampler parent-based always on, servers' env: on");
  });
});
