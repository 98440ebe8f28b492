/**
 * A real authorization server for the OAuth tests: test/fixtures/oidc-provider.ts (panva's
 * oidc-provider 9) as its own process, on free ports of 127.0.0.1. Start two for a foreign issuer.
 *
 * Keys: each provider makes an RS256 and an ES256 key at start. rotateKeys() makes a new pair that
 * signs from then on, and keeps the previous pair published until the next rotation or
 * retireOldKeys(). setKeysDown() makes the JWKS endpoint fail (503, a dropped connection, or no
 * answer at all) until it is called with false; the rest of the server keeps serving.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OidcFixtureConfig } from '../fixtures/oidc-provider.js';
import { startFixtureProcess } from './fixture-process.js';
import { authorizeHeadlessly } from './headless-authorize.js';
import { makeTempDir } from './paths.js';

export type SigningAlg = OidcFixtureConfig['accessTokenAlg'];

export interface OidcProviderOptions {
  /** The scopes resources accept; default `mcp:read mcp:call mcp:admin`. */
  readonly scopes?: readonly string[];
  /** Pre-registered client-credentials clients; default one, DEFAULT_CLIENT. `scope` limits what it may ask for. */
  readonly clients?: OidcFixtureConfig['clients'];
  /** Users of the login page, by name, with their tokens' extra claims; default `{ alice: {} }`. */
  readonly users?: OidcFixtureConfig['users'];
  /** Default RS256. */
  readonly accessTokenAlg?: SigningAlg;
  /** Default 300. */
  readonly accessTokenTtlSeconds?: number;
  readonly resources?: OidcFixtureConfig['resources'];
  /** Default 'unrestricted': a registered client's `scope` does not limit it (see the fixture). */
  readonly dynamicClientScope?: OidcFixtureConfig['dynamicClientScope'];
  /** Serve only one of the discovery documents (both by default). */
  readonly discovery?: OidcFixtureConfig['discovery'];
}

export interface TokenRequest {
  /** A pre-registered client; default the first. Not with `claims`. */
  readonly clientId?: string;
  /** The resource indicator (RFC 8707): the token's `aud`. */
  readonly resource: string;
  readonly scopes: readonly string[];
  /** Extra claims: the token comes from a client registered just for them. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface UserTokenRequest {
  readonly resource: string;
  readonly scopes: readonly string[];
  /** The user who logs in (one of `users`; default the first). */
  readonly login?: string;
}

export interface KeyState {
  /** The kid that signs each alg now. */
  readonly signing: Readonly<Record<SigningAlg, string>>;
  /** Every kid in the JWKS, newest first. */
  readonly published: readonly string[];
  /** JWKS requests served and refused so far; `down` is how it fails now, or null. */
  readonly jwks: { readonly served: number; readonly refused: number; readonly down: KeysDownMode | null };
}

/** How the JWKS endpoint fails: 503, a dropped connection, or no answer until it comes back. */
export type KeysDownMode = 'status' | 'reset' | 'hang';

export interface OidcProvider {
  /** `http://127.0.0.1:PORT`: the tokens' `iss`. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** The server's RFC 8414 metadata (as served at /.well-known/openid-configuration). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The admin port's URL (see the fixture). */
  readonly adminUrl: string;
  readonly clients: OidcFixtureConfig['clients'];
  /** A client-credentials access token (a JWT, RFC 9068). Throws with the server's answer if refused. */
  tokenFor(request: TokenRequest): Promise<string>;
  /**
   * A user's access token by the authorization-code flow, without an SDK: dynamic registration
   * of a public client, PKCE (S256), the login and consent pages walked headlessly, the code
   * exchanged. The token carries the user's claims (`users`).
   */
  userTokenFor(request: UserTokenRequest): Promise<string>;
  /**
   * Signs any payload with the server's signing key for `alg` (default: its access tokens' alg),
   * under that key's kid and `typ: at+jwt` (unless `header` says otherwise): the tokens no real
   * flow issues (expired, `nbf` ahead, another `iss`, no `exp`), with a valid signature.
   */
  signToken(request: { payload: Record<string, unknown>; alg?: SigningAlg; header?: Record<string, unknown> }): Promise<string>;
  /** Registers a client-credentials client whose tokens carry `claims`. */
  registerClient(options?: { scope?: string; claims?: Readonly<Record<string, unknown>> }): Promise<{ client_id: string; client_secret: string }>;
  rotateKeys(): Promise<KeyState>;
  /** Unpublishes every key but the signing ones: tokens signed before now have an unknown kid. */
  retireOldKeys(): Promise<KeyState>;
  setKeysDown(down: boolean, mode?: KeysDownMode): Promise<KeyState>;
  keyState(): Promise<KeyState>;
  stderr(): string;
  stop(): Promise<void>;
}

export const DEFAULT_SCOPES = ['mcp:read', 'mcp:call', 'mcp:admin'] as const;
export const DEFAULT_CLIENT = { client_id: 'test-client', client_secret: 'test-client-secret' } as const;

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<OidcProvider> {
  const config: OidcFixtureConfig = {
    scopes: options.scopes ?? DEFAULT_SCOPES,
    clients: options.clients ?? [DEFAULT_CLIENT],
    users: options.users ?? { alice: {} },
    accessTokenAlg: options.accessTokenAlg ?? 'RS256',
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    ...(options.resources ? { resources: options.resources } : {}),
    ...(options.dynamicClientScope ? { dynamicClientScope: options.dynamicClientScope } : {}),
    ...(options.discovery ? { discovery: options.discovery } : {}),
  };
  const file = path.join(makeTempDir('mcpmux-oidc-'), 'oidc.json');
  writeFileSync(file, JSON.stringify(config));
  const fixture = await startFixtureProcess('oidc-provider', [file]);
  const issuer = String(fixture.listening.issuer);
  const adminUrl = String(fixture.listening.admin);
  const discovery = config.discovery?.openid === false ? '/.well-known/oauth-authorization-server' : '/.well-known/openid-configuration';
  const metadata = (await (await fetch(`${issuer}${discovery}`)).json()) as Record<string, unknown>;

  const admin = async <T>(route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${adminUrl}${route}`, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const answer = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`the provider's admin ${route} answered ${res.status}: ${answer.error}`);
    return answer;
  };
  const registerClient: OidcProvider['registerClient'] = (client = {}) => admin('/clients', client);

  return {
    issuer,
    jwksUri: String(metadata.jwks_uri),
    tokenEndpoint: String(metadata.token_endpoint),
    metadata,
    adminUrl,
    clients: config.clients,
    async tokenFor({ clientId, resource, scopes, claims }) {
      if (clientId !== undefined && claims !== undefined) throw new Error('tokenFor: claims come with a client of their own; pass clientId or claims, not both');
      const client = claims ? await registerClient({ claims }) : config.clients.find((c) => c.client_id === (clientId ?? config.clients[0]?.client_id));
      if (!client) throw new Error(`tokenFor: no client ${clientId} among ${config.clients.map((c) => c.client_id).join(', ')}`);
      const res = await fetch(String(metadata.token_endpoint), {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: scopes.join(' ') }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) throw new Error(`the token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    userTokenFor: (request) => userToken(metadata, request),
    signToken: async (request) => (await admin<{ token: string }>('/sign', request)).token,
    registerClient,
    rotateKeys: () => admin('/rotate'),
    retireOldKeys: () => admin('/retire'),
    setKeysDown: (down, mode = 'status') => admin(down ? `/jwks/down?mode=${mode}` : '/jwks/up'),
    keyState: async () => (await (await fetch(`${adminUrl}/state`)).json()) as KeyState,
    stderr: fixture.stderr,
    stop: fixture.stop,
  };
}

const USER_REDIRECT = 'http://127.0.0.1/mcpmux-test/callback';

async function userToken(metadata: Readonly<Record<string, unknown>>, { resource, scopes, login }: UserTokenRequest): Promise<string> {
  const scope = scopes.join(' ');
  const registration = await postJson(String(metadata.registration_endpoint), { redirect_uris: [USER_REDIRECT], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none', scope }, 201);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorization = new URL(String(metadata.authorization_endpoint));
  authorization.search = new URLSearchParams({
    client_id: String(registration.client_id),
    response_type: 'code',
    redirect_uri: USER_REDIRECT,
    scope,
    resource,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const response = await authorizeHeadlessly(authorization, { redirectUrl: USER_REDIRECT, ...(login === undefined ? {} : { login }) });
  if (response.state !== state) throw new Error(`the authorization response's state ${response.state} is not the request's`);
  const res = await fetch(String(metadata.token_endpoint), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: response.code, redirect_uri: USER_REDIRECT, client_id: String(registration.client_id), code_verifier: verifier, resource }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`the token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function postJson(url: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as Record<string, unknown>;
  if (res.status !== expected) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}
