/**
 * The OAuth row of `npm run bench`: what checking an access token costs a request. One mcpmux with
 * the bench child behind three routes:
 * - `open`: no auth;
 * - `oauth`: auth.oauth, its issuer a real authorization server (helpers/oidc.ts: oidc-provider 9),
 *   every request with the same token: after the first, a hit in the route's verified-token cache;
 * - `oauth-cold`: the same settings, every request with another valid token, so every request has
 *   its signature checked. The tokens are minted before measuring, through the provider's token
 *   endpoint: more than the cache holds, taken in turn, so that a token comes round again only
 *   after more others than the cache keeps (its oldest entry goes first): never a hit. With
 *   --quick, fewer tokens than the cache holds, each used once.
 * Interleaved over rounds, at 1 connection (a timed loop) and at 50 (autocannon): req/s, p50, and
 * mcpmux's CPU per request from /proc. Then wrk, a third load generator, drives `open` and `oauth`
 * in 1 s slices that alternate (20 pairs per connection count), its CPU per request pooled over
 * them: the finest pairing of the two routes, for the warm ratio, on a machine whose load drifts.
 * Over the whole row, the key-set fetches the provider served against the requests the OAuth
 * routes admitted (mcpmux_auth_requests_total): how many requests one fetch served.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CACHE_ENTRIES } from '../../src/auth/token-cache.js';
import { ensureDebianCommand } from '../helpers/debian.js';
import { cpuSecondsOf } from '../helpers/flood.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { startOidcProvider } from '../helpers/oidc.js';
import { MAIN, makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { CHILD, MCP_HEADERS } from './call.js';
import { cannon, timedLoop, wrkWith, type Load } from './load.js';
import { median } from './sessions.js';

export const OAUTH_ROUTES = ['open', 'oauth', 'oauth-cold'] as const;
export type OAuthRoute = (typeof OAUTH_ROUTES)[number];
type Connections = '1' | '50';

export type OAuthLoad = Load;

export interface OAuthResult {
  /** Tokens minted for `oauth-cold`, against the entries the cache holds; `cycled`: used in turn, more than once each. */
  coldTokens: { minted: number; used: number; cacheEntries: number; cycled: boolean };
  /** Medians over the rounds, per connection count and route. */
  load: Record<Connections, Record<OAuthRoute, OAuthLoad>>;
  /** wrk on `open` and `oauth`, over alternating slices: CPU per request pooled, the rest medians. */
  wrk: Record<Connections, Record<'open' | 'oauth', OAuthLoad>>;
  /** Every round's figures, in order: the spread behind the medians. */
  rounds: { load: Record<Connections, Record<OAuthRoute, OAuthLoad[]>>; wrk: Record<Connections, Record<'open' | 'oauth', OAuthLoad[]>> };
  /** mcpmux CPU per request against `open`'s: the median of the rounds' ratios (wrk: of the pooled figures). */
  cpuRatio: { warm: Record<Connections, number>; cold: Record<Connections, number>; wrkWarm: Record<Connections, number> };
  /** JWKS fetches the provider served over the whole row, and the requests the OAuth routes admitted. */
  keySet: { fetches: number; requests: number; coldRequests: number; requestsPerFetch: number };
  errors: number;
}

/** A bounded token pool: `next()` hands out tokens in turn; `left` is how many more keep the route cold. */
class TokenPool {
  used = 0;
  constructor(private readonly tokens: readonly string[]) {}
  get cycled() {
    return this.tokens.length > DEFAULT_CACHE_ENTRIES;
  }
  get left() {
    return this.cycled ? Infinity : this.tokens.length - this.used;
  }
  next(): string {
    return this.tokens[this.used++ % this.tokens.length]!;
  }
}

export async function runOAuthBench(seconds: number, rounds: number, quick: boolean): Promise<OAuthResult> {
  const wrk = wrkWith(ensureDebianCommand('wrk', 'wrk'));
  const wrkPairs = quick ? 2 : 20;
  const provider = await startOidcProvider({ accessTokenTtlSeconds: 3600 });
  const dir = makeTempDir('mcpmux-bench-oauth-');
  const [port, adminPort] = [await freePort(), await freePort()];
  const origin = `http://127.0.0.1:${port}`;
  const child = { command: process.execPath, args: [CHILD], env: { JSON_RESPONSE: '1' } };
  const oauth = { oauth: { issuer: provider.issuer } };
  const file = path.join(dir, 'mcpmux.json');
  writeFileSync(file, JSON.stringify({
    listen: { host: '127.0.0.1', publicUrl: origin, limits: { maxConnections: 20_000 } },
    servers: { open: child, oauth: { ...child, auth: oauth }, 'oauth-cold': { ...child, auth: oauth } },
  }));
  // warn: no access log, as in the rest of the bench.
  const proc = spawn(process.execPath, [MAIN, '--config', file, '--port', String(port), '--admin-port', String(adminPort), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    // Minted while mcpmux starts: far more than a run sends with --quick, past the cache's size otherwise.
    const minted = await mint((resource) => provider.tokenFor({ resource, scopes: ['mcp:call'] }), `${origin}/oauth-cold`, quick ? 2000 : DEFAULT_CACHE_ENTRIES + 1000);
    const pool = new TokenPool(minted);
    const warmToken = await provider.tokenFor({ resource: `${origin}/oauth`, scopes: ['mcp:call'] });
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${adminUrl}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('mcpmux did not turn ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const url = (route: OAuthRoute) => `${origin}/${route}/mcp`;
    const headersOf = (route: OAuthRoute): (() => Record<string, string>) => {
      if (route === 'open') return () => MCP_HEADERS;
      if (route === 'oauth') return () => ({ ...MCP_HEADERS, authorization: `Bearer ${warmToken}` });
      return () => ({ ...MCP_HEADERS, authorization: `Bearer ${pool.next()}` });
    };
    const cpu = () => cpuSecondsOf(proc.pid!);
    const bound = (route: OAuthRoute) => (route === 'oauth-cold' ? () => pool.left : () => Infinity);

    // Warm-up: the JIT, each route's first request (the key set fetched, the warm token cached).
    for (const route of OAUTH_ROUTES) await timedLoop(url(route), headersOf(route), quick ? 0.2 : 1, bound(route), cpu);

    const runs = { '1': {}, '50': {} } as Record<Connections, Record<OAuthRoute, OAuthLoad[]>>;
    for (let round = 0; round < rounds; round++) {
      for (const c of ['1', '50'] as const) {
        for (const route of OAUTH_ROUTES) {
          const run = c === '1' ? timedLoop(url(route), headersOf(route), seconds, bound(route), cpu) : cannon(url(route), 50, headersOf(route), route === 'oauth-cold', seconds, bound(route)(), cpu);
          (runs[c][route] ??= []).push(await run);
        }
      }
    }
    const wrkRuns = { '1': { open: [], oauth: [] }, '50': { open: [], oauth: [] } } as Record<Connections, Record<'open' | 'oauth', OAuthLoad[]>>;
    for (const c of ['1', '50'] as const) {
      for (let pair = 0; pair < wrkPairs; pair++) {
        for (const route of pair % 2 ? (['oauth', 'open'] as const) : (['open', 'oauth'] as const)) wrkRuns[c][route].push(wrk(url(route), Number(c), headersOf(route)(), 1, cpu));
      }
    }

    const { jwks } = await provider.keyState();
    const metrics = await scrape(adminUrl);
    const admitted = (server: string) => sampleValue(metrics, 'mcpmux_auth_requests_total', { server, result: 'allowed' }) ?? 0;
    const requests = admitted('oauth') + admitted('oauth-cold');
    const summary = <K extends string>(byRoute: Record<K, OAuthLoad[]>) =>
      Object.fromEntries(Object.entries<OAuthLoad[]>(byRoute).map(([route, list]) => [route, summarise(list)])) as Record<K, OAuthLoad>;
    const ratio = <K extends string>(byRoute: Record<K, OAuthLoad[]>, route: K, base: K) =>
      median(byRoute[route].map((r, i) => r.cpuUsPerRequest / byRoute[base][i]!.cpuUsPerRequest));
    const all = [...Object.values(runs), ...Object.values(wrkRuns)].flatMap((byRoute) => Object.values<OAuthLoad[]>(byRoute).flat());
    return {
      coldTokens: { minted: minted.length, used: pool.used, cacheEntries: DEFAULT_CACHE_ENTRIES, cycled: pool.cycled },
      load: { '1': summary(runs['1']), '50': summary(runs['50']) },
      wrk: { '1': { open: pooled(wrkRuns['1'].open), oauth: pooled(wrkRuns['1'].oauth) }, '50': { open: pooled(wrkRuns['50'].open), oauth: pooled(wrkRuns['50'].oauth) } },
      rounds: { load: runs, wrk: wrkRuns },
      cpuRatio: {
        warm: { '1': ratio(runs['1'], 'oauth', 'open'), '50': ratio(runs['50'], 'oauth', 'open') },
        cold: { '1': ratio(runs['1'], 'oauth-cold', 'open'), '50': ratio(runs['50'], 'oauth-cold', 'open') },
        wrkWarm: { '1': pooled(wrkRuns['1'].oauth).cpuUsPerRequest / pooled(wrkRuns['1'].open).cpuUsPerRequest, '50': pooled(wrkRuns['50'].oauth).cpuUsPerRequest / pooled(wrkRuns['50'].open).cpuUsPerRequest },
      },
      keySet: { fetches: jwks.served, requests, coldRequests: admitted('oauth-cold'), requestsPerFetch: jwks.served ? requests / jwks.served : 0 },
      errors: all.reduce((sum, r) => sum + r.errors, 0),
    };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
    await provider.stop();
  }
}

/** `count` tokens for `resource`, 8 requests to the token endpoint at a time. */
async function mint(tokenFor: (resource: string) => Promise<string>, resource: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (tokens.length < count) tokens.push(await tokenFor(resource));
  }));
  if (new Set(tokens).size !== tokens.length) throw new Error('the token endpoint minted the same token twice');
  return tokens.slice(0, count);
}

/** Slices as one run: CPU per request over all their requests (a slice holds few /proc ticks), medians of the rest. */
function pooled(slices: OAuthLoad[]): OAuthLoad {
  const requests = slices.reduce((s, r) => s + r.requests, 0);
  const cpuUs = slices.reduce((s, r) => s + r.cpuUsPerRequest * r.requests, 0);
  return { ...summarise(slices), cpuUsPerRequest: requests ? cpuUs / requests : 0 };
}

function summarise(runs: OAuthLoad[]): OAuthLoad {
  const m = (pick: (r: OAuthLoad) => number) => median(runs.map(pick));
  return { rps: m((r) => r.rps), p50: m((r) => r.p50), p99: m((r) => r.p99), cpuUsPerRequest: m((r) => r.cpuUsPerRequest), requests: runs.reduce((s, r) => s + r.requests, 0), errors: runs.reduce((s, r) => s + r.errors, 0) };
}

export function printOAuthReport(r: OAuthResult): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(`\nOAuth routes (issuer: oidc-provider 9, RS256 access tokens); mcpmux CPU per request from /proc, ratios against open (median of the rounds'; wrk: pooled over alternating 1 s slices)`);
  console.log('conn  route        load gen     req/s  p50 ms  p99 ms  CPU µs/req  vs open CPU');
  for (const c of ['1', '50'] as const) {
    const gen = c === '1' ? 'timed loop' : 'autocannon';
    for (const route of OAUTH_ROUTES) {
      const s = r.load[c][route];
      const vs = route === 'oauth' ? r.cpuRatio.warm[c] : route === 'oauth-cold' ? r.cpuRatio.cold[c] : 1;
      console.log(`${c.padEnd(4)}  ${route.padEnd(11)}  ${gen.padEnd(10)} ${f(s.rps).padStart(7)}  ${f(s.p50, 2).padStart(6)}  ${f(s.p99, 2).padStart(6)}  ${f(s.cpuUsPerRequest).padStart(10)}  ${f(vs, 3).padStart(10)}x`);
    }
    for (const route of ['open', 'oauth'] as const) {
      const s = r.wrk[c][route];
      console.log(`${c.padEnd(4)}  ${route.padEnd(11)}  ${'wrk, 1 s'.padEnd(10)} ${f(s.rps).padStart(7)}  ${f(s.p50, 2).padStart(6)}  ${f(s.p99, 2).padStart(6)}  ${f(s.cpuUsPerRequest).padStart(10)}  ${f(route === 'oauth' ? r.cpuRatio.wrkWarm[c] : 1, 3).padStart(10)}x`);
    }
  }
  const t = r.coldTokens;
  console.log(`oauth-cold: ${t.used} requests over ${t.minted} tokens (the cache holds ${t.cacheEntries}${t.cycled ? ': taken in turn, never a hit' : ': each used once'})`);
  console.log(`key set: one key-set fetch served ${f(r.keySet.requestsPerFetch)} requests (${r.keySet.fetches} JWKS fetch${r.keySet.fetches === 1 ? '' : 'es'}, ${r.keySet.requests} requests admitted, ${r.keySet.coldRequests} with their signature checked); ${r.errors} errors`);
}
