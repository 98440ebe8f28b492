import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchJsonDocument } from '../../../src/auth/fetch-document.js';
import { startIssuer, type TestIssuer } from '../../helpers/issuer.js';

describe('fetching a document', () => {
  let issuer: TestIssuer;
  const options = { fetch, timeoutMs: 2000, maxBytes: 65536 };
  before(async () => {
    issuer = await startIssuer();
    issuer.published = [{ kty: 'oct', kid: 'x'.repeat(200) }];
  });
  after(() => issuer.close());

  it('reads the JSON', async () => assert.deepEqual(await fetchJsonDocument(issuer.jwksUrl, options), { keys: issuer.published }));

  it('refuses a status other than 200, naming the URL', async () => {
    await assert.rejects(fetchJsonDocument(`${issuer.url}/missing`, options), { message: `${issuer.url}/missing: answered HTTP 404` });
  });

  it('refuses a body declared past the bound without reading it', async () => {
    await assert.rejects(fetchJsonDocument(issuer.jwksUrl, { ...options, maxBytes: 100 }), /answered \d+ bytes, more than the 100 accepted/);
  });

  it('stops reading a streamed body once past the bound', async () => {
    let written = 0;
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const more = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024 && res.write(Buffer.alloc(16384, 0x20))) written += 16384;
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}/`;
      await assert.rejects(fetchJsonDocument(url, { ...options, maxBytes: 100_000 }), /answered more than the 100000 bytes accepted/);
      assert.ok(written < 8 * 1024 * 1024, `${written} bytes written before the reader stopped`);
    } finally {
      endless.closeAllConnections();
      endless.close();
    }
  });

  it('gives up on a server that does not answer within the deadline', async () => {
    issuer.mode = 'hang';
    try {
      const started = Date.now();
      await assert.rejects(fetchJsonDocument(issuer.jwksUrl, { ...options, timeoutMs: 150 }), /no answer within 150 ms/);
      assert.ok(Date.now() - started < 1500);
    } finally {
      issuer.mode = 'up';
    }
  });

  it('says when the server cannot be reached', async () => {
    const gone = await startIssuer();
    await gone.close();
    await assert.rejects(fetchJsonDocument(gone.jwksUrl, options), /cannot be reached \(ECONNREFUSED\)/);
  });
});
