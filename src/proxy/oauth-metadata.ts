/**
 * OAuth protected-resource metadata under prefixes (RFC 9728, MCP 2025-11-25): a client that got
 * 401 from /math/mcp looks for /.well-known/oauth-protected-resource/math/mcp. That is routed to
 * the math child's own /.well-known/oauth-protected-resource/mcp, and the `resource` it names
 * (a URL on its loopback address) is rewritten to the public URL.
 */
import type { PrefixMatch, PrefixMatcher } from '../routing/match.js';

import { METADATA_PATH } from '../auth/resource-metadata.js';

/** The route for a metadata request, with the child's own metadata path; undefined if not one. */
export function matchMetadataPath<R>(routes: PrefixMatcher<R>, path: string, query: string): (PrefixMatch<R> & { metadata: true }) | undefined {
  if (!path.startsWith(METADATA_PATH) || (path.length > METADATA_PATH.length && path[METADATA_PATH.length] !== '/')) return undefined;
  const resourcePath = path.slice(METADATA_PATH.length) || '/';
  const match = routes.match(resourcePath, query);
  if (!match) return undefined;
  const rest = match.childUrl === '/' || match.childUrl.startsWith('/?') ? match.childUrl.slice(1) : match.childUrl;
  return { route: match.route, childUrl: `${METADATA_PATH}${rest}`, metadata: true };
}

/** Rewrites `resource` to the public origin and prefix, keeping the child's path and query. */
export function rewriteResource(value: unknown, publicOrigin: string, prefix: string): unknown {
  if (value === null || typeof value !== 'object' || typeof (value as { resource?: unknown }).resource !== 'string') return value;
  const record = value as { resource: string };
  let url: URL;
  try {
    url = new URL(record.resource);
  } catch {
    return value;
  }
  const base = prefix === '/' ? '' : prefix;
  return { ...record, resource: `${publicOrigin}${base}${url.pathname === '/' ? '' : url.pathname}${url.search}` };
}
