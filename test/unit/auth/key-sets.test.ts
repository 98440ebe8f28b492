import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errors } from 'jose';
import { createKeySets, type KeySet, type KeySetFetch, type KeySetsOptions } from '../../../src/auth/key-sets.js';
import { KeySetError } from '../../../src/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { makeKey, startIssuer, type IssuerOptions, type SigningKey, type TestIssuer } from '../../helpers/issuer.js';
import { waitFor } from '../../helpers/wait.js';

const lookup = (keySet: KeySet, kid: string) => keySet({ alg: 'ES256', kid }, { payload: '', signature: '' });

describe('key sets', () => {
  let k1: SigningKey;
  let k2: SigningKey;
  const issuers: TestIssuer[] = [];
  before(async () => {
    [k1, k2] = await Promise.all([makeKey('ES256', 'k1'), makeKey('ES256', 'k2')]);
  });
  after(() => Promise.all(issuers.map((issuer) => issuer.close())));

  /** An issuer publishing k1, and key sets on a fake clock that record what they fetched. */
  async function setUp(issuerOptions: IssuerOptions = {}, options: KeySetsOptions = {}) {
    const issuer = await startIssuer({ keys: [k1], ...issuerOptions });
    issuers.push(issuer);
    const clock = new FakeClock();
    const fetched: KeySetFetch[] = [];
    const keySets = createKeySets({ clock, onFetch: (f) => void fetched.push(f), ...options });
    const summary = () => fetched.map((f) => `${f.kind} ${f.result}`);
    return { issuer, clock, fetched, summary, keySets };
  }

  it('gives routes with the same issuer and key set URL one key set, fetched once', async () => {
    const { issuer, keySets, summary } = await setUp();
    const a = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    assert.equal(keySets.keySetFor(issuer.url, issuer.jwksUrl), a);
    assert.notEqual(keySets.keySetFor(issuer.url), a);
    await Promise.all(Array.from({ length: 100 }, () => lookup(a, 'k1')));
    await lookup(keySets.keySetFor(issuer.url, issuer.jwksUrl), 'k1');
    assert.equal(issuer.jwksFetches, 1);
    assert.deepEqual(summary(), ['jwks ok']);
  });

  it('finds the key set through RFC 8414 metadata when no jwksUri is given', async () => {
    const { issuer, keySets, summary } = await setUp({ path: '/tenant1', metadata: 'oauth' });
    await lookup(keySets.keySetFor(issuer.url), 'k1');
    assert.deepEqual(summary(), ['discovery ok', 'jwks ok']);
    assert.equal(issuer.hits.get('/.well-known/oauth-authorization-server/tenant1'), 1);
  });

  it('finds the key set through OpenID discovery when there is no RFC 8414 metadata', async () => {
    const { issuer, keySets, summary } = await setUp({ metadata: 'openid' });
    await lookup(keySets.keySetFor(issuer.url), 'k1');
    assert.deepEqual(summary(), ['discovery ok', 'jwks ok']);
    assert.equal(issuer.hits.get('/.well-known/openid-configuration'), 1);
  });

  it('never uses metadata that names another issuer', async () => {
    const { issuer, keySets, fetched } = await setUp({ metadata: 'oauth', metadataIssuer: 'https://evil.example.com' });
    await assert.rejects(lookup(keySets.keySetFor(issuer.url), 'k1'), (error: KeySetError) => error instanceof KeySetError && error.kind === 'discovery');
    assert.equal(fetched.length, 1);
    assert.match(fetched[0]!.error!, /names issuer "https:\/\/evil.example.com"/);
    assert.equal(issuer.jwksFetches, 0);
  });

  it('retries a failed discovery only once retryMs has passed, and then recovers', async () => {
    const { issuer, keySets, clock, summary } = await setUp({ metadata: 'oauth' }, { retryMs: 10_000 });
    issuer.mode = 'down';
    const keySet = keySets.keySetFor(issuer.url);
    await assert.rejects(lookup(keySet, 'k1'), { retryAfterSeconds: 10 });
    const asked = issuer.hits.size;
    await clock.advance(4_000);
    await assert.rejects(lookup(keySet, 'k1'), { retryAfterSeconds: 6 });
    assert.equal(issuer.hits.size, asked, 'nothing fetched while held off');
    issuer.mode = 'up';
    await clock.advance(6_000);
    await lookup(keySet, 'k1');
    assert.deepEqual(summary(), ['discovery error', 'discovery ok', 'jwks ok']);
  });

  it('with the key set down and nothing held: KeySetError, not fetched again before retryMs, then recovered', async () => {
    const { issuer, keySets, clock, summary } = await setUp({}, { retryMs: 10_000 });
    issuer.mode = 'down';
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await assert.rejects(lookup(keySet, 'k1'), (error: KeySetError) => error instanceof KeySetError && error.kind === 'jwks' && error.retryAfterSeconds === 10);
    await assert.rejects(lookup(keySet, 'k1'), KeySetError);
    assert.equal(issuer.jwksFetches, 1);
    issuer.mode = 'up';
    await clock.advance(10_000);
    await lookup(keySet, 'k1');
    assert.deepEqual(summary(), ['jwks error', 'jwks ok']);
  });

  it('keeps finding a known kid while the key set is down, past maxAgeMs too (stale if error)', async () => {
    const { issuer, keySets, clock, summary } = await setUp({}, { maxAgeMs: 60_000 });
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    issuer.mode = 'down';
    await clock.advance(60_000);
    await lookup(keySet, 'k1');
    await waitFor(() => summary().length === 2, 'the background refresh');
    await lookup(keySet, 'k1');
    assert.deepEqual(summary(), ['jwks ok', 'jwks error']);
  });

  it('refreshes keys older than maxAgeMs in the background: a key the issuer withdrew stops being found', async () => {
    const { issuer, keySets, clock } = await setUp({}, { maxAgeMs: 60_000 });
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    issuer.published = [k2.jwk];
    await clock.advance(59_999);
    await lookup(keySet, 'k1');
    assert.equal(issuer.jwksFetches, 1);
    await clock.advance(1);
    await lookup(keySet, 'k1'); // served from the keys held, while the refresh runs
    await waitFor(() => issuer.jwksFetches === 2, 'the background refresh');
    // Gone: not found (held as not checkable yet while the fresh key set cools down).
    await waitFor(() => lookup(keySet, 'k1').then(() => false, (error) => error instanceof errors.JWKSNoMatchingKey || error instanceof KeySetError), 'k1 to be gone');
    await lookup(keySet, 'k2');
  });

  it('picks up a rotated key: a token naming a new kid refetches the key set', async () => {
    const { issuer, keySets } = await setUp({}, { cooldownMs: 0 });
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    issuer.published = [k1.jwk, k2.jwk];
    await lookup(keySet, 'k2');
    assert.equal(issuer.jwksFetches, 2);
  });

  it('does not refetch for an unknown kid within the cooldown: not checkable yet, a KeySetError with the seconds left', async () => {
    const { issuer, keySets } = await setUp();
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    await assert.rejects(lookup(keySet, 'nobody'), (error: unknown) => error instanceof KeySetError && error.retryAfterSeconds >= 1 && error.retryAfterSeconds <= 5);
    assert.equal(issuer.jwksFetches, 1);
  });

  it('after a refetch that worked, an unknown kid is unknown', async () => {
    const { issuer, keySets } = await setUp({}, { cooldownMs: 0 });
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    await assert.rejects(lookup(keySet, 'nobody'), errors.JWKSNoMatchingKey);
    assert.equal(issuer.jwksFetches, 2);
  });

  it('an unknown kid whose refetch fails is a KeySetError: the kid may be a key just rotated in', async () => {
    const { issuer, keySets } = await setUp({}, { cooldownMs: 0 });
    const keySet = keySets.keySetFor(issuer.url, issuer.jwksUrl);
    await lookup(keySet, 'k1');
    issuer.mode = 'down';
    await assert.rejects(lookup(keySet, 'k2'), KeySetError);
    await lookup(keySet, 'k1');
  });

  it('gives up on a key set that does not answer within timeoutMs', async () => {
    const { issuer, keySets, fetched } = await setUp({}, { timeoutMs: 200 });
    issuer.mode = 'hang';
    await assert.rejects(lookup(keySets.keySetFor(issuer.url, issuer.jwksUrl), 'k1'), KeySetError);
    assert.match(fetched[0]!.error!, /no answer within 200 ms/);
  });

  it('refuses a document that is not a key set', async () => {
    const { issuer, keySets, fetched } = await setUp();
    issuer.published = 'keys' as never;
    await assert.rejects(lookup(keySets.keySetFor(issuer.url, issuer.jwksUrl), 'k1'), KeySetError);
    assert.match(fetched[0]!.error!, /not a JSON Web Key Set/);
  });

  it('keeps fetching when a listener throws', async () => {
    const issuer = await startIssuer({ keys: [k1] });
    issuers.push(issuer);
    const keySets = createKeySets({
      onFetch: () => {
        throw new Error('listener');
      },
    });
    await lookup(keySets.keySetFor(issuer.url, issuer.jwksUrl), 'k1');
  });

  it('close() aborts a fetch under way, reports nothing more, and is safe twice', async () => {
    const { issuer, keySets, fetched } = await setUp({}, { timeoutMs: 30_000 });
    issuer.mode = 'hang';
    const started = Date.now();
    const pending = lookup(keySets.keySetFor(issuer.url, issuer.jwksUrl), 'k1');
    await waitFor(() => issuer.jwksFetches === 1, 'the fetch to start');
    keySets.close();
    keySets.close();
    await assert.rejects(pending, /aborted/);
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual(fetched, []);
  });
});
