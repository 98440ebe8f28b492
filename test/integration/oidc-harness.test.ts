/**
 * The OAuth test harness itself: the real authorization server (helpers/oidc.ts: oidc-provider 9
 * in its own process, two at once) issues what the resource-server tests rely on, checked with
 * jose independently of mcpmux. The SDKs' own OAuth clients (helpers/oauth-clients.ts) are run
 * against mcpmux in oauth-clients.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { DEFAULT_CLIENT, startOidcProvider, type OidcProvider } from '../helpers/oidc.js';

const RESOURCE = 'https://mcp.example.com/math';
const NOTES = 'https://mcp.example.com/notes';

/** A fresh key set each time: no cache, no cooldown between the checks. */
const keysOf = (provider: OidcProvider, timeoutDuration = 2_000) => createRemoteJWKSet(new URL(provider.jwksUri), { timeoutDuration, cooldownDuration: 0 });

describe('the test authorization server (oidc-provider 9)', () => {
  let home: OidcProvider;
  let foreign: OidcProvider;
  before(async () => {
    [home, foreign] = await Promise.all([
      startOidcProvider({
        clients: [DEFAULT_CLIENT, { client_id: 'reader', client_secret: 'reader-secret', scope: 'mcp:read' }, { client_id: 'ops', client_secret: 'ops-secret', claims: { groups: ['ops'] } }],
        users: { alice: { groups: ['admin'] }, bob: {} },
        resources: { [NOTES]: { scopes: ['notes:read', 'notes:write'], alg: 'ES256', ttlSeconds: 60 } },
      }),
      startOidcProvider({ accessTokenAlg: 'ES256', dynamicClientScope: 'as-registered', discovery: { oauth: false } }),
    ]);
  });
  after(async () => {
    await Promise.all([home?.stop(), foreign?.stop()]);
  });

  it('issues client-credentials JWT access tokens (RFC 9068) for the requested resource and scopes', async () => {
    const token = await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read', 'mcp:call'] });
    const { payload, protectedHeader } = await jwtVerify(token, keysOf(home), { issuer: home.issuer, audience: RESOURCE, typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, (await home.keyState()).signing.RS256);
    assert.equal(payload.scope, 'mcp:read mcp:call');
    assert.equal(payload.client_id, DEFAULT_CLIENT.client_id);
    assert.equal(payload.sub, DEFAULT_CLIENT.client_id);
    assert.equal(payload.aud, RESOURCE);
    assert.equal(payload.exp! - payload.iat!, 300);
  });

  it("puts extra claims on tokens: a client's own, or a token's asked for", async () => {
    const ops = decodeJwt(await home.tokenFor({ clientId: 'ops', resource: RESOURCE, scopes: ['mcp:read'] }));
    assert.deepEqual(ops.groups, ['ops']);
    const asked = decodeJwt(await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:call'], claims: { groups: ['finance'], tenant: 't1' } }));
    assert.deepEqual([asked.groups, asked.tenant, asked.scope], [['finance'], 't1', 'mcp:call']);
    assert.equal(decodeJwt(await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] })).groups, undefined);
  });

  it('keeps a client to its registered scopes', async () => {
    assert.equal(decodeJwt(await home.tokenFor({ clientId: 'reader', resource: RESOURCE, scopes: ['mcp:read'] })).scope, 'mcp:read');
    await assert.rejects(home.tokenFor({ clientId: 'reader', resource: RESOURCE, scopes: ['mcp:read', 'mcp:admin'] }), /invalid_scope/);
  });

  it('gives a resource configured on its own its scopes, alg and lifetime', async () => {
    const token = await home.tokenFor({ resource: NOTES, scopes: ['notes:read', 'mcp:read'] });
    const { payload, protectedHeader } = await jwtVerify(token, keysOf(home), { issuer: home.issuer, audience: NOTES });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.scope, 'notes:read', "only the resource's own scopes");
    assert.equal(payload.exp! - payload.iat!, 60);
  });

  it('runs a second provider as a foreign issuer, with keys of its own', async () => {
    const token = await foreign.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] });
    const { payload, protectedHeader } = await jwtVerify(token, keysOf(foreign), { audience: RESOURCE });
    assert.equal(payload.iss, foreign.issuer);
    assert.notEqual(foreign.issuer, home.issuer);
    assert.equal(protectedHeader.alg, 'ES256');
    await assert.rejects(jwtVerify(token, keysOf(home)), joseErrors.JWKSNoMatchingKey);
  });

  it('gives a user a token by the authorization-code flow with PKCE and dynamic registration, with their claims', async () => {
    const token = await home.userTokenFor({ resource: RESOURCE, scopes: ['mcp:read', 'mcp:call'] });
    const { payload } = await jwtVerify(token, keysOf(home), { issuer: home.issuer, audience: RESOURCE, typ: 'at+jwt' });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.scope, 'mcp:read mcp:call');
    assert.deepEqual(payload.groups, ['admin']);
    assert.notEqual(payload.client_id, DEFAULT_CLIENT.client_id, 'a client registered for the flow');
    const bob = decodeJwt(await home.userTokenFor({ resource: 'https://mcp.example.com/echo', scopes: ['mcp:read'], login: 'bob' }));
    assert.deepEqual([bob.sub, bob.aud, bob.groups], ['bob', 'https://mcp.example.com/echo', undefined]);
  });

  it('signs any payload with its own key, for the tokens no flow issues (here: expired)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: home.issuer, aud: RESOURCE, sub: 'forged', scope: 'mcp:read', iat: now - 600, exp: now - 300 };
    const { signing } = await home.keyState();
    const token = await home.signToken({ payload });
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', kid: signing.RS256, typ: 'at+jwt' });
    await assert.rejects(jwtVerify(token, keysOf(home), { audience: RESOURCE }), joseErrors.JWTExpired);
    await jwtVerify(token, keysOf(home), { audience: RESOURCE, currentDate: new Date((now - 400) * 1000) });
    const es = await home.signToken({ payload, alg: 'ES256', header: { typ: 'JWT' } });
    assert.deepEqual(decodeProtectedHeader(es), { alg: 'ES256', kid: signing.ES256, typ: 'JWT' });
  });

  it("registers dynamic clients and serves discovery as configured: a client's scope dropped or kept; one document or both", async () => {
    const register = async (provider: OidcProvider) => {
      const res = await fetch(String(provider.metadata.registration_endpoint), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', scope: 'mcp:read' }),
      });
      assert.equal(res.status, 201);
      return (await res.json()) as { scope?: string };
    };
    assert.equal((await register(home)).scope, undefined, 'unrestricted (the default): dropped');
    assert.equal((await register(foreign)).scope, 'mcp:read', 'as-registered: kept, and enforced by oidc-provider');
    const status = async (provider: OidcProvider, document: string) => (await fetch(`${provider.issuer}/.well-known/${document}`)).status;
    assert.deepEqual(await Promise.all([status(home, 'oauth-authorization-server'), status(home, 'openid-configuration')]), [200, 200]);
    assert.deepEqual(await Promise.all([status(foreign, 'oauth-authorization-server'), status(foreign, 'openid-configuration')]), [404, 200]);
  });

  it('rotates keys: a new kid signs from then on, the old one stays published until retired', async () => {
    const before = await home.keyState();
    const old = await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] });
    const rotated = await home.rotateKeys();
    assert.notEqual(rotated.signing.RS256, before.signing.RS256);
    assert.deepEqual(rotated.published, [rotated.signing.RS256, rotated.signing.ES256, before.signing.RS256, before.signing.ES256]);
    const fresh = await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] });
    assert.equal(decodeProtectedHeader(fresh).kid, rotated.signing.RS256);
    await jwtVerify(old, keysOf(home), { audience: RESOURCE });
    await jwtVerify(fresh, keysOf(home), { audience: RESOURCE });

    const retired = await home.retireOldKeys();
    assert.deepEqual(retired.published, [rotated.signing.RS256, rotated.signing.ES256]);
    await assert.rejects(jwtVerify(old, keysOf(home), { audience: RESOURCE }), joseErrors.JWKSNoMatchingKey);
    await jwtVerify(fresh, keysOf(home), { audience: RESOURCE });
  });

  it('takes the JWKS endpoint down (503, a dropped connection, no answer) and brings it back', async () => {
    const token = await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] });
    const { refused } = (await home.keyState()).jwks;
    await home.setKeysDown(true);
    await assert.rejects(jwtVerify(token, keysOf(home)), /Expected 200 OK/);
    const status = await fetch(home.jwksUri);
    assert.equal(status.status, 503);
    await home.setKeysDown(true, 'reset');
    await assert.rejects(jwtVerify(token, keysOf(home)), /fetch failed/);
    await home.setKeysDown(true, 'hang');
    await assert.rejects(jwtVerify(token, keysOf(home, 200)), joseErrors.JWKSTimeout);
    assert.equal((await home.keyState()).jwks.refused, refused + 4);
    // The rest of the server is up all along.
    await home.tokenFor({ resource: RESOURCE, scopes: ['mcp:read'] });

    const back = await home.setKeysDown(false);
    assert.equal(back.jwks.down, null);
    await jwtVerify(token, keysOf(home), { audience: RESOURCE });
  });
});
