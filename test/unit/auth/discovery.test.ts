import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discoverJwksUri, discoveryUrls, readJwksUri } from '../../../src/auth/discovery.js';
import { fetchJsonDocument } from '../../../src/auth/fetch-document.js';
import { startIssuer, type TestIssuer } from '../../helpers/issuer.js';

describe('discovery URLs', () => {
  const cases: [string, string[]][] = [
    ['https://as.example.com', ['https://as.example.com/.well-known/oauth-authorization-server', 'https://as.example.com/.well-known/openid-configuration']],
    ['https://as.example.com/', ['https://as.example.com/.well-known/oauth-authorization-server', 'https://as.example.com/.well-known/openid-configuration']],
    [
      'https://as.example.com/tenant1',
      [
        'https://as.example.com/.well-known/oauth-authorization-server/tenant1',
        'https://as.example.com/.well-known/openid-configuration/tenant1',
        'https://as.example.com/tenant1/.well-known/openid-configuration',
      ],
    ],
    [
      'https://as.example.com/realms/mcp/',
      [
        'https://as.example.com/.well-known/oauth-authorization-server/realms/mcp',
        'https://as.example.com/.well-known/openid-configuration/realms/mcp',
        'https://as.example.com/realms/mcp/.well-known/openid-configuration',
      ],
    ],
  ];
  for (const [issuer, urls] of cases) it(`${issuer} -> ${urls.length} URLs, RFC 8414 first`, () => assert.deepEqual(discoveryUrls(issuer).map(String), urls));
});

describe('a metadata document', () => {
  const issuer = 'https://as.example.com';
  const cases: [string, unknown, string | RegExp][] = [
    ['gives its jwks_uri', { issuer, jwks_uri: 'https://as.example.com/jwks' }, 'https://as.example.com/jwks'],
    ['is refused when it names another issuer', { issuer: 'https://evil.example.com', jwks_uri: 'https://evil.example.com/jwks' }, /names issuer "https:\/\/evil.example.com"/],
    ['is refused when its issuer differs only by a trailing slash', { issuer: `${issuer}/`, jwks_uri: 'https://as.example.com/jwks' }, /names issuer/],
    ['is refused without jwks_uri', { issuer }, /has no jwks_uri/],
    ['is refused with a jwks_uri that is not a URL', { issuer, jwks_uri: 'not a url' }, /not a URL/],
    ['is refused with an http jwks_uri for an https issuer', { issuer, jwks_uri: 'http://as.example.com/jwks' }, /over http, not https/],
    ['is refused when not an object', ['x'], /not a JSON object/],
  ];
  for (const [name, document, expected] of cases) {
    it(name, () => {
      const found = readJwksUri(issuer, document);
      if (typeof expected === 'string') assert.equal(String(found), expected);
      else assert.match(String(found), expected);
    });
  }
});

describe('discovering a key set', () => {
  const issuers: TestIssuer[] = [];
  const fetchDocument = (url: URL) => fetchJsonDocument(url, { fetch, timeoutMs: 2000, maxBytes: 65536 });
  before(async () => {
    issuers.push(await startIssuer({ path: '/tenant1', metadata: 'oauth' }), await startIssuer({ path: '/tenant1', metadata: 'openid' }), await startIssuer({ metadata: 'none' }));
  });
  after(() => Promise.all(issuers.map((i) => i.close())));

  it('finds the jwks_uri in RFC 8414 metadata, with the path inserted, asking nothing else', async () => {
    const [issuer] = issuers;
    assert.equal(String(await discoverJwksUri(issuer!.url, fetchDocument)), issuer!.jwksUrl);
    assert.deepEqual([...issuer!.hits.keys()], ['/.well-known/oauth-authorization-server/tenant1']);
  });

  it('falls back to OpenID discovery, path insertion then path appended', async () => {
    const [, issuer] = issuers;
    assert.equal(String(await discoverJwksUri(issuer!.url, fetchDocument)), issuer!.jwksUrl);
    assert.deepEqual([...issuer!.hits.keys()], ['/.well-known/oauth-authorization-server/tenant1', '/.well-known/openid-configuration/tenant1', '/tenant1/.well-known/openid-configuration']);
  });

  it('names every URL it tried when none has metadata', async () => {
    const issuer = issuers[2]!;
    await assert.rejects(discoverJwksUri(issuer.url, fetchDocument), (error: Error) => {
      assert.match(error.message, /oauth-authorization-server: answered HTTP 404; .*openid-configuration: answered HTTP 404/);
      return true;
    });
  });
});
