import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const FILE = '/etc/mcpmux/mcpmux.yaml';
const ISSUER = 'https://idp.example.com';

function problemsOf(doc: unknown): string[] {
  try {
    validateConfig(doc, FILE, { env: { TOKEN: 'static-token-0123456789' } });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

const server = (extra: Record<string, unknown> = {}) => ({ command: 'node', ...extra });
const oauth = (extra: Record<string, unknown> = {}) => ({ oauth: { issuer: ISSUER, ...extra } });
const PUBLIC = { publicUrl: 'https://mcp.example.com' };

describe('auth.oauth and listen.publicUrl in the config, one rule each', () => {
  const cases: [string, unknown, string[]][] = [
    ['oauth without publicUrl', { auth: oauth(), servers: { math: server(), echo: server() } }, ['listen.publicUrl: is required once a route uses auth.oauth (math, echo): the origin clients use, e.g. https://mcp.example.com; it names each route\'s resource and is never derived from Host']],
    ['a publicUrl with a path', { listen: { publicUrl: 'https://mcp.example.com/base' }, servers: { a: server() } }, ['listen.publicUrl: must be an origin only (scheme, host, port): no path, query or fragment']],
    ['a publicUrl that is not http(s)', { listen: { publicUrl: 'ftp://mcp.example.com' }, servers: { a: server() } }, ['listen.publicUrl: must be an http(s) origin, e.g. https://mcp.example.com']],
    ['an issuer that is not a URL', { listen: PUBLIC, auth: { oauth: { issuer: 'idp' } }, servers: { a: server() } }, ['auth.oauth.issuer: must be an http(s) URL']],
    ['no issuer', { listen: PUBLIC, auth: { oauth: {} }, servers: { a: server() } }, ['auth.oauth.issuer: is required']],
    ['HS256 among the algorithms', { listen: PUBLIC, auth: oauth({ algorithms: ['RS256', 'HS256'] }), servers: { a: server() } }, ['auth.oauth.algorithms.1: expected one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519", got string "HS256"']],
    ['alg none', { listen: PUBLIC, auth: oauth({ algorithms: ['none'] }), servers: { a: server() } }, ['auth.oauth.algorithms.0: expected one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519", got string "none"']],
    ['an auth block with neither kind', { auth: {}, servers: { a: server() } }, ['auth: must set bearerTokens, oauth, or both']],
    ['resourceMetadataUrl with oauth', { listen: PUBLIC, auth: { ...oauth(), resourceMetadataUrl: 'https://x.example.com/m' }, servers: { a: server() } }, ['auth.resourceMetadataUrl: does not apply with oauth: mcpmux serves each route\'s RFC 9728 metadata itself, at /.well-known/oauth-protected-resource<prefix>']],
    ['token passthrough on an OAuth route', { listen: PUBLIC, auth: oauth(), servers: { a: server({ forwardAuthorization: true }) } }, ['servers.a.forwardAuthorization: cannot be true on a route with auth.oauth: a client\'s token is for mcpmux alone and never reaches a child (MCP forbids token passthrough); use forwardIdentity to tell the child who called']],
    ['forwardIdentity without oauth', { servers: { a: server({ forwardIdentity: { 'X-Mcp-Subject': 'sub' } }) } }, ['servers.a.forwardIdentity: needs auth.oauth on the route: it copies claims of the caller\'s access token']],
    ['forwardIdentity into Authorization', { listen: PUBLIC, auth: oauth(), servers: { a: server({ forwardIdentity: { Authorization: 'sub' } }) } }, ['servers.a.forwardIdentity.Authorization: is a header mcpmux or HTTP itself sets; name another (e.g. X-Mcp-Subject)']],
    ['forwardIdentity with a bad header name', { listen: PUBLIC, auth: oauth(), servers: { a: server({ forwardIdentity: { 'X Subject': 'sub' } }) } }, ['servers.a.forwardIdentity.X Subject: must be an HTTP header name']],
  ];
  for (const [name, doc, expected] of cases) {
    it(name, () => assert.deepEqual(problemsOf(doc), expected));
  }
});

describe('a route\'s OAuth, resolved', () => {
  it('takes its resource and default audience from publicUrl and its prefix, per route', () => {
    const config = validateConfig({ listen: PUBLIC, auth: oauth(), servers: { math: server(), root: server({ prefix: '/' }), own: server({ auth: oauth({ audience: ['api://own', 'other'] }) }), open: server({ auth: 'none' }) } }, FILE, { env: {} });
    const byName = Object.fromEntries(config.servers.map((s) => [s.name, s.auth]));
    assert.equal(byName.math?.oauth?.resource, 'https://mcp.example.com/math');
    assert.deepEqual(byName.math?.oauth?.audiences, ['https://mcp.example.com/math']);
    assert.equal(byName.root?.oauth?.resource, 'https://mcp.example.com');
    assert.deepEqual(byName.own?.oauth?.audiences, ['api://own', 'other']);
    assert.equal(byName.open, undefined);
    assert.deepEqual(byName.math?.oauth?.algorithms, ['RS256', 'PS256', 'ES256', 'EdDSA']);
    assert.equal(byName.math?.oauth?.clockToleranceSeconds, 30);
  });

  it('keeps static tokens beside OAuth, and a publicUrl with a port as its origin', () => {
    const config = validateConfig({ listen: { publicUrl: 'http://127.0.0.1:8080/' }, auth: { bearerTokens: [{ env: 'TOKEN' }], ...oauth() }, servers: { a: server() } }, FILE, { env: { TOKEN: 'static-token-0123456789' } });
    assert.equal(config.listen.publicUrl, 'http://127.0.0.1:8080');
    assert.deepEqual(config.servers[0]!.auth?.tokens, ['static-token-0123456789']);
    assert.equal(config.servers[0]!.auth?.oauth?.resource, 'http://127.0.0.1:8080/a');
  });
});
