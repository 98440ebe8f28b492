/**
 * A tiny real authorization server for unit tests of the token check: node:http on 127.0.0.1 with
 * a dynamic port, serving jose-made public keys at /jwks and, if asked, its metadata (RFC 8414 or
 * OpenID discovery). It counts what it served, can be taken down (503) or made to hang, and signs
 * tokens with its keys: the real wire, only the test's own keys.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload } from 'jose';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyPair['privateKey'];
  readonly publicKey: KeyPair['publicKey'];
  /** The public key as the JWKS publishes it. */
  readonly jwk: JWK;
}

export async function makeKey(alg: string, kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Where the issuer publishes its metadata: RFC 8414 (path inserted), OpenID (path appended), or nowhere. */
export type MetadataKind = 'oauth' | 'openid' | 'none';

export interface IssuerOptions {
  /** The issuer's path, e.g. /tenant1; default none. */
  readonly path?: string;
  readonly metadata?: MetadataKind;
  /** The `issuer` its metadata names, when it should lie; default its own. */
  readonly metadataIssuer?: string;
  readonly keys?: readonly SigningKey[];
}

export interface TestIssuer {
  /** The issuer identifier (`iss`). */
  readonly url: string;
  readonly jwksUrl: string;
  /** What /jwks serves; change it to rotate. */
  published: JWK[];
  /** 'down' answers 503 to everything; 'hang' never answers. */
  mode: 'up' | 'down' | 'hang';
  /** Requests seen, per path. */
  readonly hits: Map<string, number>;
  readonly jwksFetches: number;
  close(): Promise<void>;
}

export async function startIssuer(options: IssuerOptions = {}): Promise<TestIssuer> {
  const path = options.path ?? '';
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const at = req.url ?? '/';
    hits.set(at, (hits.get(at) ?? 0) + 1);
    if (issuer.mode === 'hang') return;
    if (issuer.mode === 'down') return void res.writeHead(503).end();
    const metadata = { issuer: options.metadataIssuer ?? issuer.url, jwks_uri: issuer.jwksUrl };
    const documents: Record<string, unknown> = { '/jwks': { keys: issuer.published } };
    if (options.metadata === 'oauth') documents[`/.well-known/oauth-authorization-server${path}`] = metadata;
    if (options.metadata === 'openid') documents[`${path}/.well-known/openid-configuration`] = metadata;
    const document = documents[at];
    if (document === undefined) return void res.writeHead(404).end();
    const body = JSON.stringify(document);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: TestIssuer = {
    url: `${origin}${path}`,
    jwksUrl: `${origin}/jwks`,
    published: (options.keys ?? []).map((key) => key.jwk),
    mode: 'up',
    hits,
    get jwksFetches() {
      return hits.get('/jwks') ?? 0;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return issuer;
}

/** A token signed with `key`: `typ: at+jwt` and the key's `alg` and `kid`, unless `header` says otherwise. */
export function signToken(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`), as an attacker makes one. */
export function unsignedToken(claims: JWTPayload, kid: string): string {
  return `${segment({ alg: 'none', kid, typ: 'at+jwt' })}.${segment(claims)}.`;
}

/** The key-confusion forgery: HS256 with the issuer's *public* key (its PEM) as the HMAC secret. */
export async function publicKeyHmacToken(key: SigningKey, claims: JWTPayload): Promise<string> {
  const pem = await exportSPKI(key.publicKey);
  const input = `${segment({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })}.${segment(claims)}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}
