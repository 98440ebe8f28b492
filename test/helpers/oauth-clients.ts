/**
 * The SDKs' own OAuth clients, driven against an MCP server that is an OAuth resource server
 * (RFC 9728 metadata, 401 challenges): each finds its way from the first 401 to a token by itself.
 * - TypeScript SDK 1.32: ClientCredentialsProvider (client/auth-extensions.js), and the
 *   authorization-code flow with PKCE and dynamic client registration, whose browser step
 *   HeadlessOAuthProvider does with fetch (helpers/headless-authorize.ts);
 * - Python SDK 2.x: test/fixtures/py_oauth_client.py, run with the test venv.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authorizeHeadlessly, CookieJar, type AuthorizationResponse } from './headless-authorize.js';
import { ROOT } from './paths.js';
import { ensurePythonVenv } from './python.js';

export interface Connected<P extends OAuthClientProvider> {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly provider: P;
  close(): Promise<void>;
}

/**
 * The SDK's ClientCredentialsProvider (client_secret_basic), bound to `issuer` (its
 * `expectedIssuer`: the credentials go to no other authorization server). Note: the SDK asks the
 * token endpoint for `scope` as given here, whatever scope a 401 or 403 challenge names.
 */
export async function connectWithClientCredentials(url: string, options: { clientId: string; clientSecret: string; issuer: string; scope?: string }): Promise<Connected<ClientCredentialsProvider>> {
  const provider = new ClientCredentialsProvider({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    expectedIssuer: options.issuer,
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: 'mcpmux-test-client-credentials', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, provider, close: () => client.close() };
}

export interface HeadlessProviderOptions {
  /** Scope for registration and authorization when the server's challenge and metadata name none. */
  readonly scope?: string;
  /** The user to log in as (default: the login form's own). */
  readonly login?: string;
  readonly redirectUrl?: string;
}

/**
 * An OAuthClientProvider for the authorization-code flow with PKCE and dynamic registration (a
 * public client: token_endpoint_auth_method none), all state in memory. redirectToAuthorization
 * walks the authorization server's pages headlessly and keeps the code for takeCode().
 */
export class HeadlessOAuthProvider implements OAuthClientProvider {
  /** Every authorization request the SDK made, in order (their `scope` and `resource` show what it asked). */
  readonly authorizations: URL[] = [];
  /** The authorization server's answers to them. */
  readonly responses: AuthorizationResponse[] = [];
  readonly #options: HeadlessProviderOptions;
  readonly #redirectUrl: string;
  readonly #jar = new CookieJar();
  #client?: OAuthClientInformationMixed;
  #tokens?: OAuthTokens;
  #verifier?: string;
  #state?: string;
  #discovery?: OAuthDiscoveryState;
  #code?: string;

  constructor(options: HeadlessProviderOptions = {}) {
    this.#options = options;
    // Never listened on: the headless walk stops when a redirect names it.
    this.#redirectUrl = options.redirectUrl ?? 'http://127.0.0.1/mcpmux-test/callback';
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'mcpmux-test-headless',
      redirect_uris: [this.#redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.#options.scope === undefined ? {} : { scope: this.#options.scope }),
    };
  }

  state(): string {
    this.#state = randomUUID();
    return this.#state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.#client = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.authorizations.push(new URL(authorizationUrl));
    const response = await authorizeHeadlessly(authorizationUrl, {
      redirectUrl: this.#redirectUrl,
      jar: this.#jar,
      ...(this.#options.login === undefined ? {} : { login: this.#options.login }),
    });
    if (response.state !== this.#state) throw new Error(`the authorization response's state ${response.state} is not the request's ${this.#state}`);
    this.responses.push(response);
    this.#code = response.code;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.#verifier) throw new Error('no PKCE code verifier saved');
    return this.#verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }

  /** The code of the last authorization, once (the SDK then exchanges it: transport.finishAuth). */
  takeCode(): string | undefined {
    const code = this.#code;
    this.#code = undefined;
    return code;
  }
}

export interface AuthorizedConnection extends Connected<HeadlessOAuthProvider> {
  /**
   * Runs an MCP call; if the server's 403 `insufficient_scope` sent the SDK round a new
   * authorization (it then throws UnauthorizedError), finishes it and runs the call once more.
   */
  withStepUp<T>(call: (client: Client) => Promise<T>): Promise<T>;
}

/**
 * Connects the SDK's Client through the authorization-code flow: the first 401 makes the SDK
 * discover, register and send the user to authorize (headlessly here), which ends the connect
 * with UnauthorizedError; then transport.finishAuth(code) exchanges the code, and a new Client
 * on a new transport connects with the token, as the SDK's own OAuth example does.
 */
export async function connectWithAuthorizationCode(url: string, options: HeadlessProviderOptions = {}): Promise<AuthorizedConnection> {
  const provider = new HeadlessOAuthProvider(options);
  const open = () => ({ transport: new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }), client: new Client({ name: 'mcpmux-test-authorization-code', version: '1.0.0' }) });
  let connected = open();
  try {
    await connected.client.connect(connected.transport);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    // The transport that saw the challenge knows its resource metadata URL and scope.
    await finish(connected.transport, provider);
    connected = open();
    await connected.client.connect(connected.transport);
  }
  return {
    ...connected,
    provider,
    close: () => connected.client.close(),
    async withStepUp(call) {
      try {
        return await call(connected.client);
      } catch (error) {
        if (!(error instanceof UnauthorizedError)) throw error;
        await finish(connected.transport, provider);
        return call(connected.client);
      }
    },
  };
}

async function finish(transport: StreamableHTTPClientTransport, provider: HeadlessOAuthProvider): Promise<void> {
  const code = provider.takeCode();
  if (!code) throw new Error('the SDK asked for authorization, but the headless walk brought back no code');
  await transport.finishAuth(code);
}

/** What py_oauth_client.py printed. */
export interface PythonOAuthResult {
  readonly tools: string[];
  readonly call?: { readonly text: string; readonly isError: boolean };
  /** The token the SDK ended up with. */
  readonly token: { readonly access_token: string; readonly scope?: string | null };
  /** The authorization URLs it was sent to (authorization-code mode). */
  readonly authorizations: string[];
}

export type PythonOAuthOptions =
  | { readonly mode: 'client-credentials'; readonly clientId: string; readonly clientSecret: string; readonly issuer: string; readonly scope?: string }
  | { readonly mode: 'authorization-code'; readonly scope?: string; readonly login?: string };

/** The Python SDK's own OAuth client (mcp 2.x, `httpx2.Auth`) lists the tools at `url` and calls one. */
export function runPythonOAuthClient(url: string, options: PythonOAuthOptions, call?: { tool: string; arguments?: Record<string, unknown> }, timeoutMs = 60_000): Promise<PythonOAuthResult> {
  const python = path.join(ensurePythonVenv(), 'python');
  const script = path.join(ROOT, 'test/fixtures/py_oauth_client.py');
  return new Promise((resolve, reject) => {
    execFile(python, [script, url, JSON.stringify({ ...options, ...(call ? { call } : {}) })], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`py_oauth_client.py failed (${error.code ?? error.signal}):\n${stderr}\n${stdout}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as PythonOAuthResult);
      } catch {
        reject(new Error(`py_oauth_client.py printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
