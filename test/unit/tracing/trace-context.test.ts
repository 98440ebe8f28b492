/**
 * readTraceContext against the OTel propagator's own parse (core's parseTraceParent, a regular
 * expression): the same answer for valid, near-valid and arbitrary input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import fc from 'fast-check';
import { readTraceContext } from '../../../src/tracing/trace-context.js';

const make = (text: string | undefined) => new TraceState(text);
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

/** What core makes of a value, in readTraceContext's terms. */
function coreRead(text: string) {
  const parsed = parseTraceParent(text);
  return parsed ? { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.traceFlags, isRemote: true } : undefined;
}

const hexChar = fc.constantFrom(...'0123456789abcdef');
const hex = (length: number) => fc.string({ unit: hexChar, minLength: length, maxLength: length });
/** Characters that sit on the grammar's edges: case, whitespace, line ends, a dash, 'f' and '0'. */
const edgy = fc.constantFrom('-', ' ', '\t', '\n', '\r', '\u2028', '\u00a0', '\ufeff', 'F', 'A', 'f', '0', 'x', 'g', '.');

/** A traceparent with some of its characters changed, cut or added to. */
const nearlyValid = fc.tuple(fc.constantFrom('00', '01', 'ff', 'fe', 'cc'), fc.oneof(hex(32), fc.constant('0'.repeat(32))), fc.oneof(hex(16), fc.constant('0'.repeat(16))), hex(2), fc.constantFrom('', '-', '-x', '-x y', ' ', '\n', '-a\nb', '-ab\n', '  ', '-\u2028', '-z\u2029'))
  .chain(([version, trace, span, flags, suffix]) => fc.tuple(
    fc.constant(`${version}-${trace}-${span}-${flags}${suffix}`),
    fc.array(fc.tuple(fc.nat(60), edgy), { maxLength: 2 }),
    fc.constantFrom('', ' ', '\t', '\n', 'x'),
  ))
  .map(([text, changes, before]) => {
    let out = text;
    for (const [at, c] of changes) out = out.slice(0, at % (out.length + 1)) + c + out.slice((at % (out.length + 1)) + 1);
    return before + out;
  });

describe('readTraceContext', () => {
  it('reads a valid traceparent and its tracestate as a remote context', () => {
    const context = readTraceContext(`00-${TRACE}-${SPAN}-01`, 'congo=t61,rojo=00f067aa0ba902b7', make);
    assert.deepEqual({ ...context, traceState: context?.traceState?.serialize() }, { traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true, traceState: 'congo=t61,rojo=00f067aa0ba902b7' });
    assert.equal(readTraceContext([`00-${TRACE}-${SPAN}-03`, 'ignored'], ['a=1', 'b=2'], make)?.traceState?.serialize(), 'a=1,b=2');
  });

  it('refuses what the grammar refuses', () => {
    for (const bad of [`00-${TRACE}-${SPAN}-01-extra`, `ff-${TRACE}-${SPAN}-01`, `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `00-${TRACE.toUpperCase()}-${SPAN}-01`, `00-${TRACE}-${SPAN}-1`, '', 42, undefined]) {
      assert.equal(readTraceContext(bad, undefined, make), undefined, String(bad));
    }
    assert.equal(readTraceContext(`01-${TRACE}-${SPAN}-01-later`, undefined, make)?.traceId, TRACE, 'a later version may say more');
  });

  it('answers as the OTel propagator does, for near-valid and arbitrary input', () => {
    fc.assert(fc.property(fc.oneof(nearlyValid, fc.string(), fc.string({ unit: edgy })), (text) => {
      assert.deepEqual(readTraceContext(text, undefined, make), coreRead(text));
    }), { numRuns: 20_000 });
  });
});
