/**
 * The SDKs' own OAuth clients find their way from mcpmux's 401 to a token and through: the
 * TypeScript SDK 1.32's ClientCredentialsProvider, its authorization-code flow with PKCE and
 * dynamic registration (driven headlessly through the authorization server's pages), and the
 * Python SDK's client-credentials and authorization-code providers; both step up on a 403
 * insufficient_scope to the scopes mcpmux names. The authorization server is real (oidc-provider 9).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { connectWithAuthorizationCode, connectWithClientCredentials, runPythonOAuthClient } from '../helpers/oauth-clients.js';
import { DEFAULT_CLIENT, startOidcProvider, type OidcProvider } from '../helpers/oidc.js';
import { freePort } from '../helpers/ports.js';

const VISIBLE = ['add', 'subtract', 'read_file', 'write_file', 'whoami', 'ping'];

describe("the SDKs' OAuth clients against mcpmux", () => {
  let provider: OidcProvider;
  let url: string;
  let resource: string;
  before(async () => {
    provider = await startOidcProvider({ users: { alice: { groups: ['admin'] } } });
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    resource = `${origin}/math`;
    url = `${resource}/mcp`;
    const mux = await startMcpmux(
      {
        listen: { host: '127.0.0.1', publicUrl: origin },
        auth: { oauth: { issuer: provider.issuer } },
        servers: {
          math: fixtureServer('guarded', {
            env: { JSON_RESPONSE: '1', PAGE_SIZE: '100' },
            policy: { scopes: ['mcp:read'], tools: { 'admin_*': { scopes: ['mcp:admin'] } } },
            forwardIdentity: { 'X-Mcp-Subject': 'sub' },
          }),
        },
      },
      { args: ['--port', String(port)] },
    );
    await mux.waitReady();
  });
  after(async () => {
    await stopAll();
    await provider?.stop();
  });

  const subjectOf = (result: unknown) => (JSON.parse(textOf(result)) as Record<string, string>)['x-mcp-subject'];

  it('TypeScript SDK 1.32 ClientCredentialsProvider: from the 401 to a token for the route, and its list filtered', async () => {
    const session = await connectWithClientCredentials(url, { clientId: DEFAULT_CLIENT.client_id, clientSecret: DEFAULT_CLIENT.client_secret, issuer: provider.issuer, scope: 'mcp:read' });
    try {
      assert.deepEqual((await session.client.listTools()).tools.map((t) => t.name), VISIBLE);
      assert.equal(subjectOf(await session.client.callTool({ name: 'whoami', arguments: {} })), DEFAULT_CLIENT.client_id);
      assert.equal(decodeJwt(session.provider.tokens()!.access_token).aud, resource);
    } finally {
      await session.close();
    }
  });

  it('TypeScript SDK 1.32 authorization code with PKCE and dynamic registration, headless; a step-up on 403 insufficient_scope', async () => {
    const session = await connectWithAuthorizationCode(url);
    try {
      const [first] = session.provider.authorizations;
      assert.equal(first!.searchParams.get('resource'), resource, "the metadata's resource");
      assert.equal(first!.searchParams.get('scope'), 'mcp:read', "the 401's scope");
      assert.equal(first!.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(subjectOf(await session.client.callTool({ name: 'whoami', arguments: {} })), 'alice');
      const result = await session.withStepUp((client) => client.callTool({ name: 'admin_reset', arguments: {} }));
      assert.equal(textOf(result), 'called admin_reset');
      assert.equal(session.provider.authorizations.length, 2);
      assert.equal(session.provider.authorizations[1]!.searchParams.get('scope'), 'mcp:read mcp:admin', "the 403's scopes: every one the call needs");
      assert.equal(decodeJwt(session.provider.tokens()!.access_token).scope, 'mcp:read mcp:admin');
    } finally {
      await session.close();
    }
  });

  it('Python SDK ClientCredentialsOAuthProvider: lists and calls with its token', async () => {
    const result = await runPythonOAuthClient(url, { mode: 'client-credentials', clientId: DEFAULT_CLIENT.client_id, clientSecret: DEFAULT_CLIENT.client_secret, issuer: provider.issuer, scope: 'mcp:read' }, { tool: 'whoami' });
    assert.deepEqual(result.tools, VISIBLE);
    assert.equal((JSON.parse(result.call!.text) as Record<string, string>)['x-mcp-subject'], DEFAULT_CLIENT.client_id);
    assert.equal(decodeJwt(result.token.access_token).aud, resource);
  });

  it('Python SDK OAuthClientProvider: authorization code with PKCE and dynamic registration, headless; a step-up on 403 insufficient_scope', async () => {
    const result = await runPythonOAuthClient(url, { mode: 'authorization-code' }, { tool: 'admin_reset' });
    assert.deepEqual(result.call, { text: 'called admin_reset', isError: false });
    const asked = result.authorizations.map((u) => new URL(u).searchParams);
    assert.deepEqual(asked.map((a) => a.get('scope')), ['mcp:read', 'mcp:read mcp:admin'], "the 401's scope, then the 403's");
    assert.deepEqual([asked[0]!.get('resource'), asked[0]!.get('code_challenge_method')], [resource, 'S256']);
    const token = decodeJwt(result.token.access_token);
    assert.deepEqual([token.aud, token.sub, token.scope], [resource, 'alice', 'mcp:read mcp:admin']);
  });
});
