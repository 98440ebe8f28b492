/** What a child can see of mcpmux: its allow-listed environment, never mcpmux's secrets. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';

const TOKEN = 'isolation-token-0123456789abcdef';

describe('child isolation', () => {
  after(stopAll);

  it("keeps mcpmux's token and other variables out of a child's environment", async () => {
    process.env.MCPMUX_ISOLATION_TOKEN = TOKEN;
    process.env.MCPMUX_UNRELATED_SECRET = 'do-not-leak';
    const mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      auth: { bearerTokens: [{ env: 'MCPMUX_ISOLATION_TOKEN' }] },
      servers: { raw: fixtureServer('raw-http', { env: { GIVEN: 'on purpose' } }) },
    });
    await mux.waitReady();
    const pid = (await mux.status()).servers[0]!.pid!;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')));
    assert.ok(!environ.some((entry) => entry.includes(TOKEN)), 'no token in the child');
    assert.ok(!names.includes('MCPMUX_UNRELATED_SECRET'));
    assert.ok(names.includes('PATH'));
    assert.ok(environ.includes('GIVEN=on purpose'));
    assert.ok(environ.includes('HOST=127.0.0.1'));
    assert.deepEqual(names.filter((n) => !['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS', 'PORT', 'HOST', 'GIVEN'].includes(n)), []);
  });

  it('appends to X-Forwarded-For only for a trusted proxy', async () => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1', trustedProxies: ['127.0.0.0/8'] }, servers: { raw: fixtureServer('raw-http') } });
    await mux.waitReady();
    const res = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-prefix': '/gateway' } });
    const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-prefix'], '/gateway/raw');
  });
});
