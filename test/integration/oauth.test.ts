/**
 * mcpmux as the OAuth 2.1 resource server of its routes, against a real authorization server
 * (oidc-provider 9, helpers/oidc.ts) and a second one as a foreign issuer: every row of the
 * README's table, as a client sees it (status, WWW-Authenticate, the JSON-RPC body), what the
 * child sees (never the token; identity headers), key rotation, the key set down with and without
 * keys held, and the metrics that count it all.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, type JWK } from 'jose';
import { initializeBody, MCP_HEADERS } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { startOidcProvider, DEFAULT_CLIENT, type OidcProvider } from '../helpers/oidc.js';
import { freePort } from '../helpers/ports.js';
import { openRawSession } from '../helpers/raw-session.js';
import { waitFor } from '../helpers/wait.js';
import { OPS, POLICY, SCOPES } from '../helpers/guarded.js';

let home: OidcProvider;
let foreign: OidcProvider;
let mux: Mcpmux;
let origin: string;

before(async () => {
  [home, foreign] = await Promise.all([startOidcProvider({ scopes: SCOPES, clients: [DEFAULT_CLIENT, OPS] }), startOidcProvider({ scopes: SCOPES })]);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  mux = await startMcpmux(
    {
      listen: { host: '127.0.0.1', publicUrl: origin },
      auth: { oauth: { issuer: home.issuer, logSubject: true } },
      servers: {
        math: fixtureServer('guarded', { env: { JSON_RESPONSE: '1' }, policy: POLICY, forwardIdentity: { 'X-Mcp-Subject': 'sub', 'X-Mcp-Client': 'client_id', 'X-Mcp-Groups': 'groups' } }),
        stream: fixtureServer('guarded', { policy: POLICY }),
        echo: fixtureServer('guarded', { env: { JSON_RESPONSE: '1' } }),
      },
    },
    { args: ['--port', String(port)] },
  );
  await mux.waitReady();
});

after(async () => {
  await stopAll();
  await Promise.all([home?.stop(), foreign?.stop()]);
});

const url = (server: string) => `${origin}/${server}/mcp`;
const token = (server: string, scopes: string[], clientId?: string) => home.tokenFor({ resource: `${origin}/${server}`, scopes, ...(clientId ? { clientId } : {}) });
const bearer = (value: string) => (input: string | URL | Request, init: RequestInit = {}) => fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${value}` } });
const listTools = (id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });
const post = (server: string, body: string, headers: Record<string, string> = {}) => fetch(url(server), { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });
const challengeOf = (res: Response) => res.headers.get('www-authenticate') ?? '';
const metadataUrl = (server: string) => `${origin}/.well-known/oauth-protected-resource/${server}`;

describe('who a request is from: the 401s and 503s of an OAuth route', () => {
  it('answers a request without a token 401, naming its metadata and scope, with no error code (RFC 6750 3.1)', async () => {
    const res = await post('math', listTools());
    assert.equal(res.status, 401);
    assert.equal(challengeOf(res), `Bearer resource_metadata="${metadataUrl('math')}", scope="math:read"`);
    const body = (await res.json()) as { error: { code: number; data: Record<string, unknown> } };
    assert.equal(body.error.code, -31004);
    assert.equal(body.error.data.server, undefined, 'nothing said of what is behind the route');
  });

  it('serves RFC 9728 metadata at the prefix and under it, without a token, with CORS and caching', async () => {
    for (const at of [metadataUrl('math'), `${metadataUrl('math')}/mcp`]) {
      const res = await fetch(at);
      assert.equal(res.status, 200, at);
      assert.deepEqual(await res.json(), { resource: `${origin}/math`, authorization_servers: [home.issuer], scopes_supported: SCOPES, bearer_methods_supported: ['header'] });
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    }
    // A browser client (the MCP Inspector) from an origin listen.allowedOrigins admits: here, a loopback one.
    const preflight = await fetch(metadataUrl('math'), { method: 'OPTIONS', headers: { origin: 'http://localhost:6274', 'access-control-request-headers': 'mcp-protocol-version' } });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /MCP-Protocol-Version/i);
    const echo = (await (await fetch(metadataUrl('echo'))).json()) as { resource: string; scopes_supported?: string[] };
    assert.equal(echo.resource, `${origin}/echo`);
    assert.equal(echo.scopes_supported, undefined, 'a route without a policy names no scopes');
  });

  it('refuses every token it cannot trust with 401 invalid_token, and none of them reaches the child', async () => {
    const good = await token('math', ['math:read']);
    const [header, payload, signature] = good.split('.');
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: home.issuer, aud: `${origin}/math`, sub: 'mallory', client_id: 'mallory', scope: 'math:read', iat: now };
    const kid = (await home.keyState()).signing.RS256;
    const jwks = (await (await fetch(home.jwksUri)).json()) as { keys: (JWK & { kid: string })[] };
    const publicPem = createPublicKey({ key: jwks.keys.find((k) => k.kid === kid)! as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const unsigned = (body: object) => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid })).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.`;
    const cases: [string, string, string][] = [
      ['garbage', 'not-a-jwt', 'invalid'],
      ['a bad signature', `${header}.${payload}.${signature!.slice(0, -6)}AAAAAA`, 'invalid'],
      ['a token of another issuer', await foreign.tokenFor({ resource: `${origin}/math`, scopes: ['math:read'] }), 'invalid'],
      ['alg none', unsigned({ ...claims, exp: now + 300 }), 'invalid'],
      ['HS256 keyed with the public key', await new SignJWT({ ...claims, exp: now + 300 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(Buffer.from(publicPem)), 'invalid'],
      ['a foreign key under a known kid', await new SignJWT({ ...claims, exp: now + 300 }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid }).sign(foreignKey), 'invalid'],
      ['nbf an hour ahead', await home.signToken({ payload: { ...claims, exp: now + 7200, nbf: now + 3600 } }), 'invalid'],
      ['no exp', await home.signToken({ payload: claims }), 'invalid'],
      ['expired an hour ago', await home.signToken({ payload: { ...claims, exp: now - 3600 } }), 'expired'],
      ['a /math token on /echo', good, 'wrong_audience'],
    ];
    const before = await scrape(mux.adminUrl);
    for (const [name, value, result] of cases) {
      const server = name.includes('/echo') ? 'echo' : 'math';
      const res = await post(server, listTools(), { authorization: `Bearer ${value}` });
      assert.equal(res.status, 401, name);
      const challenge = challengeOf(res);
      assert.match(challenge, /^Bearer resource_metadata="[^"]+", (scope="math:read", )?error="invalid_token", error_description="[^"]+"$/, `${name}: ${challenge}`);
      assert.ok(!challenge.includes(value.slice(0, 20)), `${name}: the token is not echoed`);
      await res.arrayBuffer();
      void result;
    }
    const after = await scrape(mux.adminUrl);
    const counted = (server: string, result: string) => (sampleValue(after, 'mcpmux_auth_requests_total', { server, result }) ?? 0) - (sampleValue(before, 'mcpmux_auth_requests_total', { server, result }) ?? 0);
    assert.equal(counted('math', 'invalid'), 8);
    assert.equal(counted('math', 'expired'), 1);
    assert.equal(counted('echo', 'wrong_audience'), 1);
    const forwarded = mux.logs.filter((r) => r.msg === 'request' && r.status === 401 && r.pid !== undefined);
    assert.deepEqual(forwarded, [], 'no refused request went to a child');
  });

  it('answers 403 insufficient_scope to a token without the route scope', async () => {
    const res = await post('math', listTools(), { authorization: `Bearer ${await token('math', ['math:write'])}` });
    assert.equal(res.status, 403);
    assert.equal(challengeOf(res), `Bearer resource_metadata="${metadataUrl('math')}", scope="math:read", error="insufficient_scope", error_description="this route needs the scope math:read"`);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, -31018);
  });

  it('serves an allowed token, strips it, and tells the child who called in the configured headers only', async () => {
    const session = await openRawSession(url('math'), bearer(await token('math', ['math:read'])));
    const res = await session.post({ method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    assert.equal(res.status, 200);
    const text = ((await res.json()) as { result: { content: { text: string }[] } }).result.content[0]!.text;
    const seen = JSON.parse(text) as Record<string, string>;
    assert.equal(seen.authorization, undefined, 'the token never reaches the child');
    assert.equal(seen['x-mcp-subject'], DEFAULT_CLIENT.client_id);
    assert.equal(seen['x-mcp-client'], DEFAULT_CLIENT.client_id);
    assert.equal(seen['x-mcp-groups'], undefined, 'a claim the token lacks sends no header');
    // A client's own copy of an identity header is dropped, never passed beside mcpmux's.
    const forged = await fetch(url('math'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${await token('math', ['math:read'], 'ops')}`, 'mcp-session-id': session.id, 'mcp-protocol-version': '2025-06-18', 'x-mcp-subject': 'root', 'X-Mcp-Groups': 'admin' }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'whoami', arguments: {} } }) });
    const opsSeen = JSON.parse(((await forged.json()) as { result: { content: { text: string }[] } }).result.content[0]!.text) as Record<string, string>;
    assert.equal(opsSeen['x-mcp-subject'], 'ops');
    assert.equal(opsSeen['x-mcp-groups'], 'ops');
    const record = await waitFor(() => mux.logs.find((r) => r.msg === 'request' && r.clientId === 'ops' && r.status === 200), 'the access log names the caller');
    assert.equal(record.subject, 'ops', 'logSubject: true writes sub');
  });

  it('picks up a rotated key: a token signed with a new kid is served once the key set may be fetched again', async () => {
    const before = await home.keyState();
    await home.rotateKeys();
    const rotated = await token('math', ['math:read']);
    assert.notEqual(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid, before.signing.RS256);
    // Within 5 s of the last fetch the new kid is not checkable yet: 503 with Retry-After, never a 401.
    await waitFor(async () => {
      const res = await post('math', initializeBody(), { authorization: `Bearer ${rotated}` });
      await res.arrayBuffer();
      assert.ok(res.status === 200 || (res.status === 503 && Number(res.headers.get('retry-after')) >= 1), `got ${res.status}`);
      return res.status === 200;
    }, 'the rotated key to be fetched', 10_000);
  });

  it('keeps serving on the keys it holds while the key set is down', async () => {
    const fresh = await token('math', ['math:read']);
    await home.setKeysDown(true);
    try {
      const res = await post('math', initializeBody(), { authorization: `Bearer ${fresh}` });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await home.setKeysDown(false);
    }
  });
});

describe('an issuer whose key set cannot be reached', () => {
  let cold: OidcProvider;
  let coldMux: Mcpmux;
  before(async () => {
    cold = await startOidcProvider({ scopes: SCOPES });
    await cold.setKeysDown(true);
    const port = await freePort();
    coldMux = await startMcpmux({ listen: { host: '127.0.0.1', publicUrl: `http://127.0.0.1:${port}` }, auth: { oauth: { issuer: cold.issuer } }, servers: { math: fixtureServer('guarded', { env: { JSON_RESPONSE: '1' } }) } }, { args: ['--port', String(port)] });
    await coldMux.waitReady();
  });
  after(() => cold?.stop());

  it('answers 503 with Retry-After when no key is held (the token is not what is wrong), then serves once it is back', async () => {
    const resource = `${coldMux.publicUrl}/math`;
    const value = await cold.tokenFor({ resource, scopes: ['math:read'] });
    const res = await fetch(`${resource}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${value}` }, body: initializeBody() });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, -31020);
    assert.equal(sampleValue(await scrape(coldMux.adminUrl), 'mcpmux_auth_requests_total', { server: 'math', result: 'unavailable' }), 1);
    assert.ok((sampleValue(await scrape(coldMux.adminUrl), 'mcpmux_auth_key_fetches_total', { issuer: cold.issuer, kind: 'jwks', result: 'error' }) ?? 0) >= 1);
    await cold.setKeysDown(false);
    await waitFor(async () => {
      const again = await fetch(`${resource}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${value}` }, body: initializeBody() });
      await again.arrayBuffer();
      return again.status === 200;
    }, 'the key set to be fetched again', 10_000);
  });
});
