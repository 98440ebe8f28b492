/**
 * Whether a new span is sampled: by its parent's sampled flag (parent-based, the default), else
 * by its trace id against the ratio, with the OTel SDK's TraceIdRatioBased arithmetic (the four
 * 32-bit words of the id XOR-ed, below ratio x 2^32), so that mcpmux and the OTel SDKs beside it
 * keep or drop the same traces.
 */
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import type { SamplerSettings } from './settings.js';

/** Decides for a span of `traceId`, whose parent (valid, or none) is `parent`. */
export type Sample = (parent: SpanContext | undefined, traceId: string) => boolean;

export function createSampler({ parentBased, ratio }: SamplerSettings): Sample {
  const bound = ratio >= 1 ? 0x1_0000_0000 : ratio <= 0 ? 0 : Math.floor(ratio * 0xffffffff);
  const byRatio = (traceId: string) => bound === 0x1_0000_0000 || (bound > 0 && accumulate(traceId) < bound);
  return parentBased ? (parent, traceId) => (parent ? (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED : byRatio(traceId)) : (_parent, traceId) => byRatio(traceId);
}

/** The trace id's four 32-bit words, XOR-ed (the OTel SDK's TraceIdRatioBasedSampler). */
function accumulate(traceId: string): number {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c < 71 ? c - 55 : c - 87);
    }
    accumulation = (accumulation ^ part) >>> 0;
  }
  return accumulation;
}
