import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBearerChallenge } from '../../../src/auth/challenge.js';
import { buildResourceMetadata, resourceMetadataUrl } from '../../../src/auth/resource-metadata.js';

const META = 'https://mcp.example.com/.well-known/oauth-protected-resource/math';

describe('Bearer challenges', () => {
  const cases: [string, Parameters<typeof buildBearerChallenge>[0], string][] = [
    ['no token: metadata and scope, no error (RFC 6750 3.1)', { resourceMetadata: META, scopes: ['math:read'] }, `Bearer resource_metadata="${META}", scope="math:read"`],
    ['no scope needed: no scope parameter', { resourceMetadata: META, scopes: [] }, `Bearer resource_metadata="${META}"`],
    ['a bad token', { resourceMetadata: META, scopes: [], error: 'invalid_token', description: 'the token has expired' }, `Bearer resource_metadata="${META}", error="invalid_token", error_description="the token has expired"`],
    ['short of scope: every scope named', { resourceMetadata: META, scopes: ['math:read', 'math:write'], error: 'insufficient_scope', description: 'x' }, `Bearer resource_metadata="${META}", scope="math:read math:write", error="insufficient_scope", error_description="x"`],
    ['quotes, backslashes and newlines cannot break out', { resourceMetadata: META, scopes: [], error: 'invalid_token', description: 'a "b"\\c\r\nSet-Cookie: x' }, `Bearer resource_metadata="${META}", error="invalid_token", error_description="a \\"b\\"\\\\cSet-Cookie: x"`],
  ];
  for (const [name, parts, expected] of cases) it(name, () => assert.equal(buildBearerChallenge(parts), expected));
});

describe('RFC 9728 metadata of a route', () => {
  const oauth = { issuer: 'https://idp.example.com', jwksUri: undefined, resource: 'https://mcp.example.com/math', audiences: [], algorithms: [], clockToleranceSeconds: 30, logSubject: false };
  it('names the route as its resource, the issuer, the scopes and header bearer tokens', () => {
    assert.deepEqual(buildResourceMetadata(oauth, ['math:read', 'math:write']), { resource: 'https://mcp.example.com/math', authorization_servers: ['https://idp.example.com'], scopes_supported: ['math:read', 'math:write'], bearer_methods_supported: ['header'] });
    assert.equal('scopes_supported' in buildResourceMetadata(oauth, []), false);
  });
  it('is found at the well-known path with the prefix, on the public origin', () => {
    assert.equal(resourceMetadataUrl(oauth), META);
    assert.equal(resourceMetadataUrl({ ...oauth, resource: 'https://mcp.example.com' }), 'https://mcp.example.com/.well-known/oauth-protected-resource');
  });
});
