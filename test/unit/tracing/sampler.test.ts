import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceFlags } from '@opentelemetry/api';
import { createSampler } from '../../../src/tracing/sampler.js';
import { IdWords, newTraceId } from '../../../src/tracing/span-ids.js';

const parent = (flags: TraceFlags) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: flags });

describe('createSampler', () => {
  it('keeps that share of the traces that start here', () => {
    const sample = createSampler({ parentBased: true, ratio: 0.25 });
    let kept = 0;
    for (let i = 0; i < 20_000; i++) if (sample(undefined, newTraceId(new IdWords()))) kept++;
    assert.ok(kept > 4_500 && kept < 5_500, `${kept} of 20,000`);
  });

  it('decides by the trace id as the OTel SDK does: the same id, the same decision', () => {
    const sample = createSampler({ parentBased: false, ratio: 0.5 });
    // XOR of the four words: 0x00000000 (kept at any ratio above 0), 0xffffffff (kept only at 1).
    assert.equal(sample(undefined, '00000001000000010000000000000000'), true);
    assert.equal(sample(undefined, 'ffffffff000000000000000000000000'), false);
    assert.equal(createSampler({ parentBased: false, ratio: 1 })(undefined, 'ffffffff000000000000000000000000'), true);
    assert.equal(createSampler({ parentBased: false, ratio: 0 })(undefined, '00000001000000010000000000000000'), false);
  });

  it('follows the parent’s sampled flag when parent-based, and not otherwise', () => {
    assert.equal(createSampler({ parentBased: true, ratio: 0 })(parent(TraceFlags.SAMPLED), 'ffffffff000000000000000000000000'), true);
    assert.equal(createSampler({ parentBased: true, ratio: 1 })(parent(TraceFlags.NONE), '00000001000000010000000000000000'), false);
    assert.equal(createSampler({ parentBased: false, ratio: 1 })(parent(TraceFlags.NONE), '00000001000000010000000000000000'), true);
  });
});
