/**
 * RFC 9728 protected-resource metadata for a route with OAuth, which mcpmux serves itself, without
 * a token: at `/.well-known/oauth-protected-resource<prefix>` and under it
 * (`…/math/mcp`, the form a client derives from the URL it was given), as the MCP spec has clients
 * look for it. Routes without OAuth keep the pass-through of a child's own metadata.
 */
import type { ResolvedOAuth } from '../config/schema.js';

export const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** How long clients and caches may keep the document: it changes only with the config. */
const MAX_AGE_SECONDS = 300;

export interface ResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly string[];
}

/** The document for a route: its resource, its issuer, and the scopes its policy names. */
export function buildResourceMetadata(oauth: ResolvedOAuth, scopesSupported: readonly string[]): ResourceMetadata {
  return {
    resource: oauth.resource,
    authorization_servers: [oauth.issuer],
    ...(scopesSupported.length > 0 ? { scopes_supported: scopesSupported } : {}),
    bearer_methods_supported: ['header'],
  };
}

/** The metadata URL a challenge names: the well-known path with the route's prefix, on the public origin. */
export function resourceMetadataUrl(oauth: ResolvedOAuth): string {
  const url = new URL(oauth.resource);
  return `${url.origin}${METADATA_PATH}${url.pathname === '/' ? '' : url.pathname}`;
}

/** Headers of the document and of its CORS preflight: a browser client (the MCP Inspector) may read it. */
export const METADATA_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': `public, max-age=${MAX_AGE_SECONDS}`,
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'MCP-Protocol-Version',
  'access-control-max-age': String(MAX_AGE_SECONDS),
});
