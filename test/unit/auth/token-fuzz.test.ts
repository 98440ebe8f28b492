/**
 * Fuzz of the access-token check (fast-check): random bytes, random JWT-shaped strings, and valid
 * tokens mutated (a character changed, segments swapped, cut or pasted from another token, header
 * or claims re-encoded under the old signature). The verdict is never a throw, and never an allow
 * for a token whose signed content differs from what the issuer signed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { base64url, decodeJwt, decodeProtectedHeader } from 'jose';
import { createKeySets, type KeySets } from '../../../src/auth/key-sets.js';
import { createTokenVerifier, type TokenVerifier } from '../../../src/auth/token.js';
import { makeKey, signToken, startIssuer, type TestIssuer } from '../../helpers/issuer.js';

const AUD = 'https://mcp.example.com/math';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NUM_RUNS = 300;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The same signed content: header and claims untouched, and a signature that decodes to the same bytes. */
function sameSignedContent(mutated: string, original: string): boolean {
  const [h, p, sig] = mutated.split('.');
  const [oh, op, osig] = original.split('.');
  if (mutated.split('.').length !== 3 || h !== oh || p !== op) return false;
  try {
    return Buffer.from(base64url.decode(sig!)).equals(Buffer.from(base64url.decode(osig!)));
  } catch {
    return false;
  }
}

describe('access-token check, fuzzed', () => {
  let issuer: TestIssuer;
  let keySets: KeySets;
  let verifier: TokenVerifier;
  const valid: string[] = [];

  before(async () => {
    const keys = await Promise.all([makeKey('RS256', 'rs'), makeKey('PS256', 'ps'), makeKey('ES256', 'es'), makeKey('EdDSA', 'ed')]);
    issuer = await startIssuer({ keys });
    keySets = createKeySets();
    verifier = createTokenVerifier({ issuer: issuer.url, jwksUri: issuer.jwksUrl, audiences: [AUD] }, { keySets });
    const now = Math.floor(Date.now() / 1000);
    for (const key of keys) {
      for (const scope of ['math:read', 'math:write']) valid.push(await signToken(key, { iss: issuer.url, aud: AUD, sub: 'alice', exp: now + 3600, scope, jti: `${key.kid}-${scope}` }));
    }
    for (const token of valid) assert.ok((await verifier.verify(token)).ok, 'the unmutated tokens verify');
  });
  after(async () => {
    keySets.close();
    await issuer.close();
  });

  const neverAllowed = async (token: string) => {
    const result = await verifier.verify(token);
    assert.equal(result.ok, false, token);
  };

  it('never allows random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), (bytes) => neverAllowed(Buffer.from(bytes).toString('latin1'))), { numRuns: NUM_RUNS });
  });

  it('never allows random JWT-shaped strings', async () => {
    const part = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 400 });
    await fc.assert(fc.asyncProperty(part, part, part, (h, p, s) => neverAllowed(`${h}.${p}.${s}`)), { numRuns: NUM_RUNS });
  });

  it('never allows random claims and headers under a real signature', async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    await fc.assert(
      fc.asyncProperty(fc.nat(valid.length - 1), json, json, fc.boolean(), async (i, header, claims, keepHeader) => {
        const [h, p, s] = valid[i]!.split('.');
        await neverAllowed(`${keepHeader ? h : encode(header)}.${keepHeader ? encode(claims) : p}.${s}`);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  /** Ways to damage a valid token, each given the token and some randomness. */
  const mutations: Record<string, (token: string, n: number, c: string, other: string) => string> = {
    'a character changed': (t, n, c) => {
      const at = n % t.length;
      return `${t.slice(0, at)}${c === t[at] ? (c === 'A' ? 'B' : 'A') : c}${t.slice(at + 1)}`;
    },
    'cut short': (t, n) => t.slice(0, n % t.length),
    'something appended': (t, _n, c) => `${t}${c}`,
    'header and claims swapped': (t) => {
      const [h, p, s] = t.split('.');
      return `${p}.${h}.${s}`;
    },
    'no signature': (t) => `${t.split('.').slice(0, 2).join('.')}.`,
    'another token’s signature': (t, _n, _c, other) => `${t.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`,
    'another token’s claims': (t, _n, _c, other) => {
      const [h, , s] = t.split('.');
      return `${h}.${other.split('.')[1]}.${s}`;
    },
    'alg changed': (t, n) => {
      const [, p, s] = t.split('.');
      const alg = ['none', 'HS256', 'RS256', 'ES256', 'EdDSA', 'PS256', 'RS384'][n % 7];
      return `${encode({ ...decodeProtectedHeader(t), alg })}.${p}.${s}`;
    },
    'claims widened': (t, n) => {
      const [h, , s] = t.split('.');
      const claims = decodeJwt(t);
      return `${h}.${encode({ ...claims, exp: (claims.exp as number) + 1 + n, scope: 'math:read math:write admin' })}.${s}`;
    },
    'kid dropped': (t) => {
      const [, p, s] = t.split('.');
      const { kid: _kid, ...header } = decodeProtectedHeader(t);
      return `${encode(header)}.${p}.${s}`;
    },
  };

  it('never allows a mutated valid token, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(valid.length - 1),
        fc.nat(valid.length - 1),
        fc.constantFrom(...Object.keys(mutations)),
        fc.nat(),
        fc.constantFrom(...ALPHABET, '.', '=', ' ', '+', '/', '\u00e9'),
        async (i, j, name, n, c) => {
          const original = valid[i]!;
          const other = valid[j === i ? (j + 1) % valid.length : j]!;
          const mutated = mutations[name]!(original, n, c, other);
          const result = await verifier.verify(mutated);
          if (result.ok) assert.ok(sameSignedContent(mutated, original), `${name}: ${mutated} was allowed`);
        },
      ),
      { numRuns: NUM_RUNS * 3 },
    );
  });
});
