import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerChallenge, bearerToken, createAuthCheck } from '../../../src/auth/bearer-tokens.js';

const TOKENS = ['first-token-0123456789abcdef', 'second-token-0123456789abcdef'];

describe('bearer auth', () => {
  const check = createAuthCheck({ tokens: TOKENS });
  const cases: [string | undefined, boolean][] = [
    [`Bearer ${TOKENS[0]}`, true],
    [`bearer ${TOKENS[1]}`, true],
    [`Bearer  ${TOKENS[0]} `, true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    [`Basic ${TOKENS[0]}`, false],
    [`Bearer ${TOKENS[0]!.slice(0, -1)}`, false],
    [`Bearer ${TOKENS[0]}x`, false],
    [`Bearer ${TOKENS[0]!.toUpperCase()}`, false],
  ];
  for (const [header, expected] of cases) it(`${JSON.stringify(header)} -> ${expected}`, () => assert.equal(check(header), expected));

  it('parses the scheme case-insensitively', () => {
    assert.equal(bearerToken('BEARER abc'), 'abc');
    assert.equal(bearerToken('Token abc'), undefined);
  });

  it('announces resource_metadata when configured', () => {
    assert.equal(bearerChallenge({ tokens: TOKENS }), 'Bearer realm="mcpmux"');
    assert.equal(bearerChallenge({ tokens: TOKENS, resourceMetadataUrl: 'https://x/.well-known/oauth-protected-resource/m' }), 'Bearer realm="mcpmux", resource_metadata="https://x/.well-known/oauth-protected-resource/m"');
  });

  it('takes as long for a near miss as for a wild miss (constant-time compare)', () => {
    const long = 'k'.repeat(64);
    const strict = createAuthCheck({ tokens: [long] });
    const nearMiss = `Bearer ${'k'.repeat(63)}x`;
    const wildMiss = 'Bearer x';
    const time = (header: string) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < 20_000; i++) strict(header);
      return Number(process.hrtime.bigint() - started);
    };
    time(nearMiss);
    time(wildMiss);
    const ratios: number[] = [];
    for (let round = 0; round < 9; round++) ratios.push(time(nearMiss) / time(wildMiss));
    ratios.sort((a, b) => a - b);
    const median = ratios[4]!;
    // Both are hashed to 32 bytes and compared in full: where a guess goes wrong never shows.
    assert.ok(median > 0.6 && median < 1.7, `near-miss / wild-miss time ratio ${median.toFixed(2)}`);
  });
});
