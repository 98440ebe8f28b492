import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAlgorithms, DEFAULT_ALGORITHMS, normalizeTokenSettings, type TokenSettingsInput } from '../../../src/auth/token-settings.js';
import { ConfigError } from '../../../src/errors.js';

describe('algorithms', () => {
  const cases: [string, string[], string[]][] = [
    ['accepts the defaults', [...DEFAULT_ALGORITHMS], []],
    ['accepts every asymmetric signature', ['RS384', 'RS512', 'PS384', 'PS512', 'ES384', 'ES512', 'Ed25519'], []],
    ['refuses none', ['RS256', 'none'], ['algorithms.1: "none" (an unsigned token) is never accepted']],
    ['refuses HS256', ['HS256'], ['algorithms.0: "HS256" is a shared-secret (HMAC) algorithm and is never accepted: whoever can check such a token can also make one; use RS256, PS256, ES256, EdDSA']],
    ['refuses HS384 and HS512', ['HS384', 'HS512'], ['algorithms.0: "HS384" is a shared', 'algorithms.1: "HS512" is a shared']],
    ['refuses an unknown name', ['rs256'], ['algorithms.0: expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519, got "rs256"']],
    ['refuses a name listed twice', ['ES256', 'ES256'], ['algorithms.1: "ES256" is already listed']],
    ['refuses an empty list', [], ['algorithms: must name at least one algorithm (default: RS256, PS256, ES256, EdDSA)']],
  ];
  for (const [name, list, expected] of cases) {
    it(name, () => {
      const said = checkAlgorithms(list).map((p) => `${p.path}: ${p.message}`);
      assert.equal(said.length, expected.length, said.join('\n'));
      expected.forEach((start, i) => assert.ok(said[i]!.startsWith(start), said[i]));
    });
  }
  it('reports at the path it is given', () => assert.equal(checkAlgorithms(['none'], 'servers.math.auth.oauth.algorithms')[0]!.path, 'servers.math.auth.oauth.algorithms.0'));
});

describe('token settings', () => {
  const base: TokenSettingsInput = { issuer: 'https://idp.example.com', audiences: ['https://mcp.example.com/math'] };

  it('fills in the defaults, and freezes the result', () => {
    const settings = normalizeTokenSettings(base);
    assert.deepEqual(settings, { issuer: 'https://idp.example.com', audiences: ['https://mcp.example.com/math'], algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], clockToleranceSeconds: 30 });
    assert.ok(Object.isFrozen(settings) && Object.isFrozen(settings.algorithms) && Object.isFrozen(settings.audiences));
  });

  const problems: [string, Partial<TokenSettingsInput>, string][] = [
    ['an issuer that is not a URL', { issuer: 'idp' }, 'auth.oauth.issuer: expected an absolute URL, got "idp"'],
    ['an issuer with a query', { issuer: 'https://idp.example.com/?tenant=1' }, 'auth.oauth.issuer: an issuer has no query or fragment'],
    ['an issuer that is not http(s)', { issuer: 'ftp://idp.example.com' }, 'auth.oauth.issuer: expected an https URL'],
    ['a jwksUri that is not a URL', { jwksUri: '/jwks' }, 'auth.oauth.jwksUri: expected an absolute URL'],
    ['no audience', { audiences: [] }, 'auth.oauth.audience: must name at least one audience'],
    ['an empty audience', { audiences: ['a', ''] }, 'auth.oauth.audience.1: must not be empty'],
    ['a negative tolerance', { clockToleranceSeconds: -1 }, 'auth.oauth.clockToleranceSeconds: expected a number of seconds, 0 or more, got -1'],
    ['HMAC', { algorithms: ['HS256'] }, 'auth.oauth.algorithms.0: "HS256" is a shared-secret'],
  ];
  for (const [name, change, expected] of problems) {
    it(`refuses ${name}`, () => {
      assert.throws(() => normalizeTokenSettings({ ...base, ...change }), (error: ConfigError) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.message.startsWith(expected), error.message);
        return true;
      });
    });
  }

  it('reports every problem at once', () => {
    assert.throws(() => normalizeTokenSettings({ issuer: 'x', audiences: [], algorithms: ['none', 'HS256'] }), (error: ConfigError) => error.problems.length === 4);
  });
});
