import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompactSign, type JWTPayload } from 'jose';
import { createKeySets, type KeySets, type KeySetsOptions } from '../../../src/auth/key-sets.js';
import { createTokenVerifier, readScopes, type TokenResult, type TokenVerifierDeps } from '../../../src/auth/token.js';
import type { TokenSettingsInput } from '../../../src/auth/token-settings.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { makeKey, publicKeyHmacToken, signToken, startIssuer, unsignedToken, type IssuerOptions, type SigningKey, type TestIssuer } from '../../helpers/issuer.js';

const AUD = 'https://mcp.example.com/math';

/** Real key sets, with a count of the key lookups: one per signature actually checked. */
function countLookups(keySets: KeySets) {
  const count = { lookups: 0 };
  const counted: KeySets = {
    keySetFor: (issuer, jwksUri) => {
      const keySet = keySets.keySetFor(issuer, jwksUri);
      return (header, token) => {
        count.lookups++;
        return keySet(header, token);
      };
    },
    close: () => keySets.close(),
  };
  return { count, keySets: counted };
}

/** What a result says, in a word: ok, or the reason. */
const verdict = (result: TokenResult) => (result.ok ? 'ok' : result.reason);

describe('access-token check', () => {
  let rs: SigningKey, ps: SigningKey, es: SigningKey, ed: SigningKey, rs384: SigningKey, foreignEs: SigningKey, rotated: SigningKey;
  const issuers: TestIssuer[] = [];
  const keySetsMade: KeySets[] = [];
  before(async () => {
    [rs, ps, es, ed, rs384, foreignEs, rotated] = await Promise.all([
      makeKey('RS256', 'rs'),
      makeKey('PS256', 'ps'),
      makeKey('ES256', 'es'),
      makeKey('EdDSA', 'ed'),
      makeKey('RS384', 'rs384'),
      makeKey('ES256', 'es'), // not the issuer's: a forgery under its kid
      makeKey('ES256', 'rotated'),
    ]);
  });
  after(async () => {
    for (const keySets of keySetsMade) keySets.close();
    await Promise.all(issuers.map((issuer) => issuer.close()));
  });

  /** An issuer publishing rs, ps, es and ed, and a verifier for AUD on a fake clock. */
  async function setUp(options: { issuer?: IssuerOptions; keySets?: KeySetsOptions; settings?: Partial<TokenSettingsInput>; deps?: Partial<TokenVerifierDeps> } = {}) {
    const issuer = await startIssuer({ keys: [rs, ps, es, ed], ...options.issuer });
    issuers.push(issuer);
    const clock = new FakeClock();
    const real = createKeySets({ clock, ...options.keySets });
    keySetsMade.push(real);
    const { count, keySets } = countLookups(real);
    const settings: TokenSettingsInput = { issuer: issuer.url, jwksUri: issuer.jwksUrl, audiences: [AUD], ...options.settings };
    const verifier = createTokenVerifier(settings, { keySets, clock, ...options.deps });
    const now = () => Math.floor(clock.now() / 1000);
    const claims = (extra: JWTPayload = {}): JWTPayload => ({ iss: issuer.url, aud: AUD, sub: 'alice', client_id: 'c1', iat: now(), exp: now() + 300, scope: 'math:read', ...extra });
    return { issuer, clock, count, verifier, claims, now, keySets };
  }

  describe('one case per rule', () => {
    let s: Awaited<ReturnType<typeof setUp>>;
    before(async () => {
      s = await setUp();
    });
    const without = (claims: JWTPayload, name: string) => Object.fromEntries(Object.entries(claims).filter(([key]) => key !== name));
    const cases: [string, () => Promise<string> | string, string][] = [
      ['accepts RS256', () => signToken(rs, s.claims()), 'ok'],
      ['accepts PS256', () => signToken(ps, s.claims()), 'ok'],
      ['accepts ES256', () => signToken(es, s.claims()), 'ok'],
      ['accepts EdDSA', () => signToken(ed, s.claims()), 'ok'],
      ['accepts typ at+jwt', () => signToken(es, s.claims(), { typ: 'at+jwt' }), 'ok'],
      ['accepts typ application/at+jwt', () => signToken(es, s.claims(), { typ: 'application/at+jwt' }), 'ok'],
      ['accepts a plain JWT (typ JWT)', () => signToken(es, s.claims(), { typ: 'JWT' }), 'ok'],
      ['accepts a JWT without typ', () => signToken(es, s.claims(), { typ: undefined }), 'ok'],
      ['refuses another typ (a DPoP proof)', () => signToken(es, s.claims(), { typ: 'dpop+jwt' }), 'invalid'],
      ['refuses a token from another issuer', () => signToken(es, s.claims({ iss: 'https://evil.example.com' })), 'invalid'],
      ['refuses a token for another resource as wrong_audience', () => signToken(es, s.claims({ aud: 'https://mcp.example.com/echo' })), 'wrong_audience'],
      ['accepts a token whose aud list names this resource', () => signToken(es, s.claims({ aud: ['https://other.example.com', AUD] })), 'ok'],
      ['refuses a token with no aud as wrong_audience', () => signToken(es, without(s.claims(), 'aud')), 'wrong_audience'],
      ['refuses a token expired beyond the tolerance as expired', () => signToken(es, s.claims({ exp: s.now() - 31 })), 'expired'],
      ['accepts a token expired within the tolerance', () => signToken(es, s.claims({ exp: s.now() - 29 })), 'ok'],
      ['refuses a token whose nbf is beyond the tolerance', () => signToken(es, s.claims({ nbf: s.now() + 31 })), 'invalid'],
      ['accepts a token whose nbf is within the tolerance', () => signToken(es, s.claims({ nbf: s.now() + 29 })), 'ok'],
      ['refuses a token without exp', () => signToken(es, without(s.claims(), 'exp')), 'invalid'],
      ['refuses a token whose exp is not a number', () => signToken(es, s.claims({ exp: 'tomorrow' as never })), 'invalid'],
      ['refuses alg none', () => unsignedToken(s.claims(), 'es'), 'invalid'],
      ['refuses HS256 signed with the public key (key confusion)', () => publicKeyHmacToken(rs, s.claims()), 'invalid'],
      ['refuses a foreign key under a known kid', () => signToken(foreignEs, s.claims()), 'invalid'],
      // Not known to be bad until a fetch says so: unknown after a refetch is 'invalid' (the rotation cases below).
      ['holds a kid the issuer does not publish as unavailable while the key set cools down', () => signToken(rotated, s.claims()), 'unavailable'],
      ['refuses an algorithm outside the allow-list', () => signToken(rs384, s.claims()), 'invalid'],
      ['refuses an empty string', () => '', 'invalid'],
      ['refuses garbage', () => 'garbage', 'invalid'],
      ['refuses three garbage segments', () => 'a.b.c', 'invalid'],
      ['refuses two dots', () => '..', 'invalid'],
      ['refuses a signed payload that is not JSON', () => new CompactSign(Buffer.from('not json')).setProtectedHeader({ alg: 'ES256', kid: 'es' }).sign(es.privateKey), 'invalid'],
      ['refuses a token past 16 KiB unread', async () => signToken(es, s.claims({ pad: 'x'.repeat(16 * 1024) })), 'invalid'],
    ];
    for (const [name, make, expected] of cases) {
      it(name, async () => {
        const token = await make();
        const result = await s.verifier.verify(token);
        assert.equal(verdict(result), expected, JSON.stringify(result));
        if (!result.ok) {
          // RFC 6750 error_description: %x20-21 / %x23-5B / %x5D-7E; and nothing of the token in it.
          assert.match(result.description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
          for (const part of token.split('.').filter((p) => p.length > 3)) assert.ok(!result.description.includes(part));
        }
      });
    }

    it('reads no key for a token past 16 KiB', async () => {
      const before = s.count.lookups;
      assert.deepEqual(await s.verifier.verify(`${'a'.repeat(16 * 1024)}.b.c`), { ok: false, reason: 'invalid', description: 'the token is too long' });
      assert.equal(s.count.lookups, before);
    });
  });

  it('gives the claims, the scopes and exp of an accepted token', async () => {
    const { verifier, claims } = await setUp();
    const issued = claims({ scp: ['math:write'] });
    const result = await verifier.verify(await signToken(es, issued));
    assert.ok(result.ok);
    assert.deepEqual(result.claims, issued);
    assert.deepEqual([...result.scopes].sort(), ['math:read', 'math:write']);
    assert.equal(result.expiresAt, issued.exp);
  });

  describe('scopes', () => {
    const cases: [string, JWTPayload, string[]][] = [
      ['scope, space-separated (RFC 9068)', { scope: 'a b  c' }, ['a', 'b', 'c']],
      ['scp as a list', { scp: ['a', 'b'] }, ['a', 'b']],
      ['scp as a string', { scp: 'a b' }, ['a', 'b']],
      ['both, merged', { scope: 'a', scp: ['b'] }, ['a', 'b']],
      ['none', {}, []],
      ['what is not a string ignored', { scope: 3 as never, scp: ['a', 4, null] as never }, ['a']],
    ];
    for (const [name, claims, expected] of cases) it(name, () => assert.deepEqual([...readScopes(claims)].sort(), expected));
  });

  it('tries each published key for a token without kid that several could have signed', async () => {
    const other = await makeKey('ES256', 'other');
    const { verifier, claims } = await setUp({ issuer: { keys: [other, es] } });
    assert.equal(verdict(await verifier.verify(await signToken(es, claims(), { kid: undefined }))), 'ok');
    assert.equal(verdict(await verifier.verify(await signToken(foreignEs, claims(), { kid: undefined }))), 'invalid');
  });

  describe('the key set', () => {
    it('picks up a rotated key: a new kid at the JWKS is fetched when a token names it', async () => {
      const { issuer, verifier, claims } = await setUp({ keySets: { cooldownMs: 0 } });
      assert.equal(verdict(await verifier.verify(await signToken(es, claims()))), 'ok');
      issuer.published = [rotated.jwk];
      assert.equal(verdict(await verifier.verify(await signToken(rotated, claims()))), 'ok');
      assert.equal(issuer.jwksFetches, 2);
    });

    it('down with no key held: unavailable, with Retry-After', async () => {
      const { issuer, verifier, claims } = await setUp({ keySets: { retryMs: 10_000 } });
      issuer.mode = 'down';
      assert.deepEqual(await verifier.verify(await signToken(es, claims())), {
        ok: false,
        reason: 'unavailable',
        retryAfterSeconds: 10,
        description: "the authorization server's keys cannot be fetched now",
      });
    });

    it('down with keys held: a known kid still verifies; an unknown kid is unavailable', async () => {
      const { issuer, verifier, claims } = await setUp({ keySets: { cooldownMs: 0 }, deps: { cacheEntries: 0 } });
      assert.equal(verdict(await verifier.verify(await signToken(es, claims()))), 'ok');
      issuer.mode = 'down';
      assert.equal(verdict(await verifier.verify(await signToken(es, claims({ jti: 'another' })))), 'ok');
      assert.equal(verdict(await verifier.verify(await signToken(rotated, claims()))), 'unavailable');
    });

    it('is found through RFC 8414 metadata', async () => {
      const { verifier, claims } = await setUp({ issuer: { path: '/tenant1', metadata: 'oauth' }, settings: { jwksUri: undefined } });
      assert.equal(verdict(await verifier.verify(await signToken(es, claims()))), 'ok');
    });

    it('is found through OpenID discovery when RFC 8414 has nothing', async () => {
      const { verifier, claims, issuer } = await setUp({ issuer: { path: '/tenant1', metadata: 'openid' }, settings: { jwksUri: undefined } });
      assert.equal(verdict(await verifier.verify(await signToken(es, claims()))), 'ok');
      assert.equal(issuer.hits.get('/tenant1/.well-known/openid-configuration'), 1);
    });
  });

  describe('the verified-token cache', () => {
    it('checks a token again only when it is not cached: a second verify checks no signature', async () => {
      const { verifier, claims, count } = await setUp();
      const token = await signToken(es, claims());
      const first = await verifier.verify(token);
      assert.equal(count.lookups, 1);
      assert.equal(await verifier.verify(token), first);
      assert.equal(count.lookups, 1);
    });

    it('never serves an entry at or past exp', async () => {
      const { verifier, claims, count, clock, now } = await setUp();
      const token = await signToken(es, claims({ exp: now() + 60 }));
      assert.equal(verdict(await verifier.verify(token)), 'ok');
      await clock.advance(59_999);
      assert.equal(verdict(await verifier.verify(token)), 'ok');
      assert.equal(count.lookups, 1);
      await clock.advance(1);
      assert.equal(verdict(await verifier.verify(token)), 'ok', 'checked again, and within the tolerance');
      assert.equal(count.lookups, 2);
      await clock.advance(30_000);
      assert.equal(verdict(await verifier.verify(token)), 'expired');
    });

    it('keeps only successes', async () => {
      const { verifier, claims, count } = await setUp();
      const token = await signToken(es, claims({ aud: 'https://mcp.example.com/echo' }));
      await verifier.verify(token);
      await verifier.verify(token);
      assert.equal(count.lookups, 2);
    });

    it('is per verifier: a token cached for /math is not served on /echo', async () => {
      const { verifier, claims, keySets, clock, issuer } = await setUp();
      const echo = createTokenVerifier({ issuer: issuer.url, jwksUri: issuer.jwksUrl, audiences: ['https://mcp.example.com/echo'] }, { keySets, clock });
      const token = await signToken(es, claims());
      assert.equal(verdict(await verifier.verify(token)), 'ok');
      assert.equal(verdict(await echo.verify(token)), 'wrong_audience');
      assert.equal(issuer.jwksFetches, 1, 'one key set serves both routes');
    });
  });
});
