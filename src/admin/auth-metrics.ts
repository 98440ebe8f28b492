/**
 * The metrics of auth (auth/): what auth made of each request on a route with auth, which calls a
 * policy refused, and the fetches of key sets and issuer metadata. Names of tools, prompts and
 * resources are client-chosen: capped per server, as the MCP metrics cap theirs, then `other`.
 */
import { Counter, type Registry } from 'prom-client';
import type { Events } from '../events.js';
import { MCP_NAMES_PER_SERVER } from './metric-bounds.js';
import { createTally } from './tally.js';

export function registerAuthMetrics(registers: Registry[], events: Events): void {
  // Every request on a route with auth is counted: a tally (tally.ts), not prom-client's inc().
  const requests = createTally({
    name: 'mcpmux_auth_requests_total',
    help: 'Requests on routes with auth, by result: allowed; missing (no token: 401), invalid, expired, wrong_audience (401 invalid_token); insufficient_scope (403); denied (403: a policy rule, an unreadable body, or a header that disagrees with it); unavailable (the key set cannot be reached: 503).',
    labelNames: ['server', 'result'],
    registers,
  });
  const denials = new Counter({
    name: 'mcpmux_policy_denials_total',
    help: 'Calls a policy refused, by server, kind (tool, prompt, resource), name and reason (insufficient_scope, denied).',
    labelNames: ['server', 'kind', 'name', 'reason'],
    registers,
  });
  const fetches = new Counter({
    name: 'mcpmux_auth_key_fetches_total',
    help: "Fetches of an issuer's key set (jwks) and metadata (discovery), by issuer and result (ok, error).",
    labelNames: ['issuer', 'kind', 'result'],
    registers,
  });
  const names = new Map<string, Set<string>>();
  const boundedName = (server: string, name: string) => {
    let seen = names.get(server);
    if (!seen) names.set(server, (seen = new Set()));
    if (seen.has(name)) return name;
    if (seen.size >= MCP_NAMES_PER_SERVER) return 'other';
    seen.add(name);
    return name;
  };
  events.on('auth-result', ({ server, result, denied }) => {
    requests.count(server, result);
    if (denied) denials.inc({ server, kind: denied.kind, name: boundedName(server, denied.name.slice(0, 128)), reason: result });
  });
  events.on('key-set-fetch', ({ issuer, kind, result }) => fetches.inc({ issuer, kind, result }));
}
