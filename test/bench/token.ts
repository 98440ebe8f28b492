/**
 * What the verified-token cache saves: the time and CPU of one verify() of a realistic access token
 * (RFC 9068 claims, ~700 bytes), cold (the signature checked: a verifier with cacheEntries 0, its
 * keys already fetched) and warm (a cache hit), per algorithm. One process, one verify at a time.
 *   npm run build && node dist/test/bench/token.js [iterations]
 */
import { createKeySets } from '../../src/auth/key-sets.js';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/token.js';
import { makeKey, signToken, startIssuer } from '../helpers/issuer.js';

const iterations = Number(process.argv[2] ?? 20_000);
const AUD = 'https://mcp.example.com/math';

async function measure(verifier: TokenVerifier, token: string, n: number) {
  for (let i = 0; i < Math.min(n, 500); i++) if (!(await verifier.verify(token)).ok) throw new Error('the token does not verify');
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await verifier.verify(token);
  const wallUs = Number(process.hrtime.bigint() - started) / 1000 / n;
  const { user, system } = process.cpuUsage(cpu);
  return { wallUs, cpuUs: (user + system) / n };
}

const algorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const keys = await Promise.all(algorithms.map((alg) => makeKey(alg, alg.toLowerCase())));
const issuer = await startIssuer({ keys });
const keySets = createKeySets();
const settings = { issuer: issuer.url, jwksUri: issuer.jwksUrl, audiences: [AUD] };
const cold = createTokenVerifier(settings, { keySets, cacheEntries: 0 });
const warm = createTokenVerifier(settings, { keySets });
const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: issuer.url,
  aud: AUD,
  sub: '248289761001',
  client_id: 's6BhdRkqt3',
  scope: 'math:read math:write',
  jti: 'dbe39bf3a3ba4238a513f51d6e1691c4',
  iat: now,
  exp: now + 3600,
  groups: ['ops', 'dev'],
};

console.log(`node ${process.version}, ${iterations} verifies each, one at a time (µs per verify: wall / CPU)`);
console.log('alg     token  cold wall  cold CPU  warm wall  warm CPU  cold/s  warm/s');
for (const key of keys) {
  const token = await signToken(key, claims);
  const c = await measure(cold, token, Math.max(1, Math.floor(iterations / 10)));
  const w = await measure(warm, token, iterations);
  const row = [key.alg.padEnd(6), String(token.length).padStart(6), c.wallUs.toFixed(1).padStart(10), c.cpuUs.toFixed(1).padStart(9), w.wallUs.toFixed(2).padStart(10), w.cpuUs.toFixed(2).padStart(9)];
  console.log(`${row.join('')}${String(Math.round(1e6 / c.wallUs)).padStart(8)}${String(Math.round(1e6 / w.wallUs)).padStart(8)}`);
}
console.log(`key-set fetches: ${issuer.jwksFetches}`);
keySets.close();
await issuer.close();
