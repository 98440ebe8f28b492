/**
 * Who may call what: a server's `policy` on an OAuth route, with tokens from a real authorization
 * server (oidc-provider 9). A caller's lists leave out what it may not call (JSON and SSE answers,
 * page by page); a forbidden call is 403 with every scope it needs, or the policy's own code for a
 * `when` rule; a call smuggled under a header that disagrees with the body is the spec's
 * HeaderMismatch; batches are checked member by member; and a reload changes the policy without a
 * restart, while a bad expression changes nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MCP_HEADERS } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, writeConfig, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { DEFAULT_CLIENT, startOidcProvider, type OidcProvider } from '../helpers/oidc.js';
import { freePort } from '../helpers/ports.js';
import { openRawSession, type RawSession } from '../helpers/raw-session.js';
import { waitFor } from '../helpers/wait.js';
import { OPS, POLICY, SCOPES } from '../helpers/guarded.js';

const ALL_TOOLS = ['add', 'subtract', 'read_file', 'write_file', 'admin_reset', 'admin_audit', 'whoami', 'ping'];

let home: OidcProvider;
let mux: Mcpmux;
let origin: string;
let configFile: string;
const configOf = (policy: unknown) => ({
  listen: { host: '127.0.0.1', publicUrl: origin },
  auth: { oauth: { issuer: home.issuer } },
  servers: {
    math: fixtureServer('guarded', { env: { JSON_RESPONSE: '1' }, policy }),
    stream: fixtureServer('guarded', { policy }),
  },
});

before(async () => {
  home = await startOidcProvider({ scopes: SCOPES, clients: [DEFAULT_CLIENT, OPS] });
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  configFile = writeConfig(configOf(POLICY));
  mux = await startMcpmux({ file: configFile }, { args: ['--port', String(port)] });
  await mux.waitReady();
});

after(async () => {
  await stopAll();
  await home?.stop();
});

const url = (server: string) => `${origin}/${server}/mcp`;
const sessionFor = async (server: string, scopes: string[], clientId?: string): Promise<RawSession & { token: string }> => {
  const token = await home.tokenFor({ resource: `${origin}/${server}`, scopes, ...(clientId ? { clientId } : {}) });
  const withToken = (input: string | URL | Request, init: RequestInit = {}) => fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
  return Object.assign(await openRawSession(url(server), withToken), { token });
};

/** The JSON-RPC message of an answer: its JSON body, or the SSE event that carries a result or an error. */
async function messageOf(res: Response): Promise<{ id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } }> {
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('event-stream')) {
    const data = text.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).find((d) => /"(result|error)"/.test(d));
    return JSON.parse(data ?? '{}');
  }
  return JSON.parse(text);
}

/** Every page of a list, as this session sees it: the names per page, and the cursors followed. */
async function listAll(session: RawSession, method: string, field: string, key: string): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const message = await messageOf(await session.post({ method, params: cursor ? { cursor } : {} }));
    assert.ok(message.result, JSON.stringify(message));
    pages.push((message.result[field] as Record<string, string>[]).map((item) => item[key]!));
    cursor = message.result.nextCursor as string | undefined;
  } while (cursor !== undefined);
  return pages;
}

describe('what a caller sees and may call', () => {
  for (const server of ['math', 'stream']) {
    it(`leaves out of each page of tools/list what the caller may not call (${server === 'math' ? 'JSON' : 'SSE'} answers), keeping every cursor`, async () => {
      const reader = await sessionFor(server, ['math:read']);
      assert.deepEqual(await listAll(reader, 'tools/list', 'tools', 'name'), [['subtract', 'read_file'], [], ['whoami', 'ping']]);
      const writer = await sessionFor(server, ['math:read', 'math:write']);
      assert.deepEqual((await listAll(writer, 'tools/list', 'tools', 'name')).flat(), ['add', 'subtract', 'read_file', 'write_file', 'whoami', 'ping']);
      const ops = await sessionFor(server, ['math:read', 'math:write'], 'ops');
      assert.deepEqual((await listAll(ops, 'tools/list', 'tools', 'name')).flat(), ALL_TOOLS);
      assert.deepEqual((await listAll(reader, 'prompts/list', 'prompts', 'name')).flat(), ['greet']);
      assert.deepEqual((await listAll(ops, 'prompts/list', 'prompts', 'name')).flat(), ['greet', 'admin_prompt']);
      assert.deepEqual((await listAll(reader, 'resources/list', 'resources', 'uri')).flat(), ['file:///public/readme']);
    });
  }

  it('refuses a call that needs more scope with 403 insufficient_scope, naming every scope it needs', async () => {
    const reader = await sessionFor('math', ['math:read']);
    const res = await reader.post({ method: 'tools/call', params: { name: 'add', arguments: {} } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/math", scope="math:read math:write", error="insufficient_scope", error_description="tool add needs the scopes math:read math:write"`);
    const message = await messageOf(res);
    assert.equal(message.error?.code, -31018);
    assert.equal(typeof message.id, 'number', "the refusal answers the call's own id");
    const secret = await reader.post({ method: 'resources/read', params: { uri: 'file:///secret/keys' } });
    assert.equal(secret.status, 403);
    assert.match(secret.headers.get('www-authenticate') ?? '', /scope="math:read secrets"/);
    await secret.arrayBuffer();
    const allowed = await messageOf(await reader.post({ method: 'tools/call', params: { name: 'subtract', arguments: {} } }));
    assert.deepEqual(allowed.result?.content, [{ type: 'text', text: 'called subtract' }]);
  });

  it('refuses a call a `when` rule denies with 403 and the policy code, by claim; the same call passes for a caller with the claim', async () => {
    const before = await scrape(mux.adminUrl);
    const writer = await sessionFor('math', ['math:read', 'math:write']);
    const denied = await writer.post({ method: 'tools/call', params: { name: 'admin_reset', arguments: {} } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('www-authenticate'), null, 'no scope would help: no challenge');
    const message = await messageOf(denied);
    assert.equal(message.error?.code, -31019);
    assert.equal(message.error?.data?.reason, 'policy_denied');
    const ops = await sessionFor('math', ['math:read'], 'ops');
    const passed = await messageOf(await ops.post({ method: 'tools/call', params: { name: 'admin_reset', arguments: {} } }));
    assert.deepEqual(passed.result?.content, [{ type: 'text', text: 'called admin_reset' }]);
    const prompt = await ops.post({ method: 'prompts/get', params: { name: 'admin_prompt' } });
    assert.equal(prompt.status, 200);
    await prompt.arrayBuffer();
    const after = await scrape(mux.adminUrl);
    const delta = (name: string, labels: Record<string, string>) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    assert.equal(delta('mcpmux_policy_denials_total', { server: 'math', kind: 'tool', name: 'admin_reset', reason: 'denied' }), 1);
    assert.equal(delta('mcpmux_auth_requests_total', { server: 'math', result: 'denied' }), 1);
  });

  it('answers a call smuggled under an Mcp-Name (or Mcp-Method) that disagrees with its body 400 HeaderMismatch (-32020), and sends nothing to the child', async () => {
    const writer = await sessionFor('math', ['math:read', 'math:write']);
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${writer.token}`, 'mcp-session-id': writer.id, 'mcp-protocol-version': '2025-06-18' };
    const smuggle = async (extra: Record<string, string>) => fetch(url('math'), { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'tools/call', params: { name: 'admin_reset', arguments: {} } }) });
    for (const extra of [{ 'mcp-method': 'tools/call', 'mcp-name': 'subtract' }, { 'mcp-method': 'tools/list' } as Record<string, string>, { 'mcp-method': 'tools/call', 'mcp-name': `=?base64?${Buffer.from('ping').toString('base64')}?=` }]) {
      const res = await smuggle(extra);
      assert.equal(res.status, 400, JSON.stringify(extra));
      const message = await messageOf(res);
      assert.equal(message.error?.code, -32020);
      assert.equal(message.id, 41);
    }
    const smuggled = await waitFor(() => {
      const records = mux.logs.filter((r) => r.msg === 'request' && r.status === 400 && r.server === 'math');
      return records.length >= 3 ? records : undefined;
    }, 'the access log of the three');
    assert.ok(smuggled.every((r) => r.pid === undefined), `refused before any child: ${JSON.stringify(smuggled)}`);
  });

  it('checks a batch member by member: one forbidden member refuses the batch; an allowed batch has its lists filtered', async () => {
    const reader = await sessionFor('math', ['math:read']);
    const send = (batch: unknown[]) => fetch(url('math'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${reader.token}`, 'mcp-session-id': reader.id, 'mcp-protocol-version': '2025-03-26' }, body: JSON.stringify(batch) });
    const forbidden = await send([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'subtract' } }, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add' } }]);
    assert.equal(forbidden.status, 403);
    assert.equal((await messageOf(forbidden)).error?.code, -31018);
    const allowed = await send([{ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'subtract' } }, { jsonrpc: '2.0', id: 4, method: 'tools/list', params: {} }]);
    // The SDK's server answers a batch as it can; whatever it answers, the list in it is filtered.
    const text = await allowed.text();
    assert.ok(!text.includes('"add"'), text);
  });
});

describe('a policy changed by reload', () => {
  it('applies a new policy without a restart, and a bad expression changes nothing', async () => {
    const pid = (await mux.status()).servers.find((s) => s.name === 'math')!.pid;
    const reader = await sessionFor('math', ['math:read']);
    const call = async () => (await reader.post({ method: 'tools/call', params: { name: 'subtract', arguments: {} } })).status;
    assert.equal(await call(), 200);
    writeFileSync(configFile, JSON.stringify(configOf({ ...POLICY, tools: { ...POLICY.tools, subtract: { scopes: ['math:write'] } } })));
    mux.proc.kill('SIGHUP');
    await waitFor(async () => (await call()) === 403, 'the new policy to refuse subtract');
    writeFileSync(configFile, JSON.stringify(configOf({ ...POLICY, tools: { ...POLICY.tools, 'admin_*': { when: 'claims.groups.exists(g, g == ' } } })));
    mux.proc.kill('SIGHUP');
    const refused = await waitFor(() => mux.logs.find((r) => r.msg?.startsWith('reload refused: servers.math.policy.tools.admin_*.when')), 'the reload to be refused');
    assert.match(String(refused.problem), /at 1:\d+/);
    assert.equal(await call(), 403, 'the policy in force stays');
    assert.equal((await mux.status()).servers.find((s) => s.name === 'math')!.pid, pid, 'no process was restarted');
  });
});
