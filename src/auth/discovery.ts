/**
 * Where an issuer keeps its key set, when the config does not say: read from the issuer's own
 * metadata, in the order the MCP authorization spec tries it ("Authorization Server Metadata
 * Discovery"): RFC 8414 first, then OpenID Connect Discovery. A document is used only when its
 * `issuer` is exactly the configured one (RFC 8414 §3.3, OpenID Discovery §4.3): anything else is
 * another server's metadata, or an attacker's.
 */

/**
 * The metadata URLs of `issuer`, in the order tried. For an issuer with a path
 * (`https://as.example.com/tenant1`): RFC 8414's path insertion
 * (`/.well-known/oauth-authorization-server/tenant1`), OpenID's with path insertion, then OpenID's
 * appended (`/tenant1/.well-known/openid-configuration`). Without a path, the two well-known URLs.
 * A terminating `/` of the issuer's path is removed first (RFC 8414 §3.1).
 */
export function discoveryUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const at = (pathname: string) => new URL(pathname, url.origin);
  if (path === '') return [at('/.well-known/oauth-authorization-server'), at('/.well-known/openid-configuration')];
  return [at(`/.well-known/oauth-authorization-server${path}`), at(`/.well-known/openid-configuration${path}`), at(`${path}/.well-known/openid-configuration`)];
}

/**
 * The `jwks_uri` of `issuer`, from the first of its metadata documents that can be fetched, names
 * the issuer exactly, and holds a usable `jwks_uri`. Throws an Error naming every URL tried and what
 * was wrong with each.
 */
export async function discoverJwksUri(issuer: string, fetchDocument: (url: URL) => Promise<unknown>): Promise<URL> {
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let document: unknown;
    try {
      document = await fetchDocument(url);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    const found = readJwksUri(issuer, document);
    if (found instanceof URL) return found;
    problems.push(`${url}: ${found}`);
  }
  throw new Error(`no usable metadata: ${problems.join('; ')}`);
}

/** The document's `jwks_uri`, or what is wrong with the document. */
export function readJwksUri(issuer: string, document: unknown): URL | string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return 'is not a JSON object';
  const { issuer: named, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (named !== issuer) return `names issuer ${quote(named)}, not "${issuer}"`;
  if (typeof jwksUri !== 'string') return 'has no jwks_uri';
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    return `has a jwks_uri that is not a URL: ${quote(jwksUri)}`;
  }
  // Never fewer guarantees than the issuer itself: an https issuer's keys come over https.
  const allowed = new URL(issuer).protocol === 'https:' ? ['https:'] : ['https:', 'http:'];
  if (!allowed.includes(url.protocol)) return `has a jwks_uri over ${url.protocol.slice(0, -1)}, not ${allowed.map((p) => p.slice(0, -1)).join(' or ')}`;
  return url;
}

/** A value from a document, quoted and cut short for a log line. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
