/**
 * The body a policy route reads, fuzzed (fast-check): whatever bytes a client sends, reading them
 * never throws; and whatever a body mcpmux lets through, the child gets (its canonical form) never
 * calls what the policy forbids: no spelling of a forbidden call (escapes, repeated keys, batches,
 * whitespace, case, stray fields) gets past as an allowed one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readBodyCalls } from '../../../src/auth/calls.js';
import { compilePolicy } from '../../../src/auth/policy.js';
import { policySchema } from '../../../src/config/policy-schema.js';

const compiled = compilePolicy(policySchema.parse({ tools: { 'admin_*': { when: 'false' }, delete_all: { scopes: ['root'] } }, resources: { 'file:///secret/*': { when: 'false' } } }), 'policy');
assert.ok(compiled.policy);
const policy = compiled.policy;
const caller = { claims: {}, scopes: new Set<string>(), server: 'math' };

/** Every call a parsed body makes, found independently of calls.ts: any object with a method, anywhere. */
function callsIn(value: unknown): { method: string; name: unknown }[] {
  const found: { method: string; name: unknown }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const record = v as Record<string, unknown>;
    if (typeof record.method === 'string') {
      const params = record.params as Record<string, unknown> | undefined;
      found.push({ method: record.method, name: record.method === 'resources/read' ? params?.uri : params?.name });
    }
  };
  walk(value);
  return found;
}

const forbidden = (method: string, name: unknown) =>
  (method === 'tools/call' && typeof name === 'string' && (name.startsWith('admin_') || name === 'delete_all')) || (method === 'resources/read' && typeof name === 'string' && name.startsWith('file:///secret/'));

/** What mcpmux lets through: the body read, and every call in it allowed. */
function letThrough(body: Buffer): Buffer | undefined {
  const read = readBodyCalls(body);
  if (!read.ok) return undefined;
  for (const message of read.messages) if (message.call && !policy.decide(message.call, caller).allow) return undefined;
  return read.canonical;
}

const names = fc.constantFrom('admin_reset', 'admin_', 'delete_all', 'read_file', 'subtract', 'ADMIN_reset', 'admin_\u0000', 'file:///secret/keys', 'file:///public/x');
const methods = fc.constantFrom('tools/call', 'resources/read', 'tools/list', 'Tools/Call', 'tools/call ', 'prompts/get');
/** A JSON text for a value, spelled in one of many ways JSON allows. */
const spell = (text: string, style: number) => {
  if (style === 1) return text.replace(/[a-z_/]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (style === 2) return text.replaceAll(',', ' ,\n\t');
  return text;
};
const message = fc.record({ method: methods, name: names, other: names, style: fc.integer({ min: 0, max: 2 }), repeat: fc.boolean(), field: fc.constantFrom('name', 'uri') });
const body = fc.oneof(
  message.map(({ method, name, other, style, repeat, field }) => {
    const params = repeat ? `{"${field}":${JSON.stringify(other)},"${field}":${JSON.stringify(name)}}` : `{"${field}":${JSON.stringify(name)}}`;
    return spell(`{"jsonrpc":"2.0","id":1,"method":${JSON.stringify(method)},"params":${params}}`, style);
  }),
  fc.array(message, { minLength: 1, maxLength: 4 }).map((list) => `[${list.map(({ method, name }, i) => `{"jsonrpc":"2.0","id":${i},"method":${JSON.stringify(method)},"params":{"name":${JSON.stringify(name)},"uri":${JSON.stringify(name)}}}`).join(',')}]`),
);

describe('the body of a policy route, fuzzed', () => {
  it('never throws, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      readBodyCalls(Buffer.from(bytes));
    }), { numRuns: 2000 });
  });

  it('never lets a forbidden call through, however it is spelled', () => {
    fc.assert(fc.property(body, (text) => {
      const passed = letThrough(Buffer.from(text));
      if (!passed) return;
      for (const { method, name } of callsIn(JSON.parse(passed.toString('utf8')))) assert.ok(!forbidden(method, name), `${text} -> ${passed}`);
    }), { numRuns: 3000 });
  });

  it('never lets a forbidden call through when a valid body is cut or a byte of it changed', () => {
    const base = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'admin_reset' } }));
    fc.assert(fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.boolean(), (at, byte, cut) => {
      const mutated = cut ? base.subarray(0, at) : Buffer.from(base.map((b, i) => (i === at ? byte : b)));
      const passed = letThrough(mutated);
      if (!passed) return;
      for (const { method, name } of callsIn(JSON.parse(passed.toString('utf8')))) assert.ok(!forbidden(method, name), `${mutated} -> ${passed}`);
    }), { numRuns: 3000 });
  });
});
