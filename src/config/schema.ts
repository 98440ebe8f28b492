/**
 * The config schema. Defaults live here and nowhere else; the config types are inferred from it.
 * Cross-field rules (duplicate prefixes, port clashes) live in `load.ts`, after defaults are applied.
 */
import { z } from 'zod';
import { policySchema } from './policy-schema.js';

const seconds = (fallback: number) => z.number().positive().default(fallback);
const count = (fallback: number) => z.number().int().min(1).default(fallback);

/** An HTTP header name (a token, RFC 9110). */
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be an HTTP header name' });

const httpHeaderSchema = z.strictObject({ name: z.string().min(1), value: z.string() });

/** Probe kinds, as in Kubernetes; `mcp` is ours: a real `initialize` then `ping`. */
export const PROBE_KINDS = ['tcpSocket', 'httpGet', 'mcp'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

const probePath = (fallback: string) => z.string().startsWith('/', { error: 'must start with "/"' }).default(fallback);

/** Thresholds and timing follow Kubernetes, with its defaults; fractions of a second are allowed. */
export const probeSchema = z
  .strictObject({
    tcpSocket: z.strictObject({}).optional(),
    httpGet: z.strictObject({ path: probePath('/'), httpHeaders: z.array(httpHeaderSchema).default([]) }).optional(),
    mcp: z.strictObject({ path: probePath('/mcp') }).optional(),
    initialDelaySeconds: z.number().min(0).default(0),
    periodSeconds: seconds(10),
    timeoutSeconds: seconds(1),
    successThreshold: count(1),
    failureThreshold: count(3),
  })
  .superRefine((probe, ctx) => {
    const kinds = PROBE_KINDS.filter((k) => probe[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `must set exactly one of ${PROBE_KINDS.join(', ')}${kinds.length ? `, got ${kinds.join(' and ')}` : ''}`,
      });
    }
  });

export type ProbeConfig = z.infer<typeof probeSchema>;

const portNumber = z.number().int().min(1).max(65535);
/** Port of one of mcpmux's own listeners: 0 asks the OS for a free one. */
const listenerPort = z.number().int().min(0).max(65535);

const SEGMENT = /^[A-Za-z0-9._~!$&'()*+,;=:@-]+$/;

/** A route prefix: "/" or "/a/b", whole segments, no dot segments, no trailing slash. */
export const prefixSchema = z.string().superRefine((prefix, ctx) => {
  if (!prefix.startsWith('/')) return void ctx.addIssue({ code: 'custom', message: 'must start with "/"' });
  if (prefix === '/') return;
  if (prefix.endsWith('/')) return void ctx.addIssue({ code: 'custom', message: 'must not end with "/"' });
  for (const segment of prefix.slice(1).split('/')) {
    if (segment === '') return void ctx.addIssue({ code: 'custom', message: 'must not contain an empty segment ("//")' });
    if (segment === '.' || segment === '..')
      return void ctx.addIssue({ code: 'custom', message: 'must not contain "." or ".." segments' });
    if (!SEGMENT.test(segment))
      return void ctx.addIssue({ code: 'custom', message: `has a character a path segment cannot hold: "${segment}"` });
  }
});

export const SERVER_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** A secret, read once at load time: from an environment variable or a file. Never inline. */
export const secretSchema = z.union(
  [z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }) }), z.strictObject({ file: z.string().min(1) })],
  { error: 'must be { env: NAME } or { file: PATH }' },
);


/** What an authorization server signs access tokens with, by default: asymmetric only. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'PS256', 'ES256', 'EdDSA']);

/** Every algorithm that may be configured: jose's asymmetric signatures that Node 20 verifies (never `none`, never HMAC). */
export const ACCEPTED_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** mcpmux as the OAuth 2.1 resource server of a route: JWT access tokens checked at the edge. */
const oauthSchema = z.strictObject({
  /** The exact `iss` of the tokens; also `authorization_servers[0]` in the route's RFC 9728 metadata. */
  issuer: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** The key set's URL; unset: discovered from the issuer's RFC 8414 metadata, then OpenID discovery. */
  jwksUri: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** `auto`: the route's resource URL (listen.publicUrl + prefix), as RFC 8707 has it. Or any of these. */
  audience: z.union([z.literal('auto'), z.string().min(1), z.array(z.string().min(1)).min(1)]).default('auto'),
  /** Asymmetric signatures only: `none` and HMAC (a key the resource server would share) are never accepted. */
  algorithms: z
    .array(z.enum(ACCEPTED_ALGORITHMS as [string, ...string[]]))
    .min(1)
    .default([...DEFAULT_ALGORITHMS]),
  /** Leeway for exp, nbf and iat, for clocks a little apart. */
  clockToleranceSeconds: z.number().min(0).max(600).default(30),
  /** Write the token's `sub` in the access log (its `client_id` always is). */
  logSubject: z.boolean().default(false),
});

const authSchema = z
  .strictObject({
    /** Tokens a client may present as `Authorization: Bearer <token>`. */
    bearerTokens: z.array(secretSchema).min(1, { error: 'must list at least one token' }).optional(),
    /** JWT access tokens from an authorization server. With bearerTokens too, either one admits a request. */
    oauth: oauthSchema.optional(),
    /** RFC 9728 metadata URL, announced in `WWW-Authenticate` on a 401 (bearer tokens; with oauth mcpmux serves its own). */
    resourceMetadataUrl: z.url({ error: 'must be an absolute URL' }).optional(),
  })
  .refine((auth) => auth.bearerTokens !== undefined || auth.oauth !== undefined, { error: 'must set bearerTokens, oauth, or both' });

/** Environment a child inherits from mcpmux, besides its own `env`. mcpmux's secrets stay out. */
export const DEFAULT_INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS'];

/** A stdio server's sessions and processes (`transport: stdio`): served by `mcpmux bridge`. */
export const stdioSchema = z.strictObject({
  /** `isolated`: one process per MCP session. `shared`: one process for every session. */
  sessions: z.enum(['isolated', 'shared']).default('isolated'),
  /** Processes started ahead of their sessions (isolated only), so a new session skips the cold start. */
  warmProcesses: z.number().int().min(0).max(64).default(1),
  /** Sessions open at once; at it, the fair-share rule frees a slot (the client holding the most gives one up), else 503 with Retry-After. */
  maxSessions: z.number().int().min(1).default(32),
  /**
   * Sessions one client (its address, or the address a trusted proxy saw) may hold at once, even
   * with slots free; at it, its own idlest makes room, else 429. Unset: no cap but maxSessions, and
   * the fair-share rule alone decides once the server is full.
   */
  maxSessionsPerClient: z.number().int().min(1).optional(),
  /** How fast one client may open sessions (each costs a process): `burst` at once, then `perSecond`; past it, 429 with Retry-After. */
  sessionRate: z.strictObject({ perSecond: z.number().positive().default(5), burst: z.number().int().min(1).default(20) }).prefault({}),
  /** A session with no request in flight and no open stream for this long is ended; its process stops. */
  idleTimeoutSeconds: seconds(600),
  /** A process that has not answered `initialize` by then fails its session. */
  initializeTimeoutSeconds: seconds(60),
  /** A message on stdout longer than this is refused, and its session fails. */
  maxMessageBytes: z.number().int().min(1024).max(1024 ** 3).default(8 * 1024 * 1024),
});

export type StdioConfig = z.infer<typeof stdioSchema>;
export const STDIO_DEFAULTS: StdioConfig = stdioSchema.parse({});

/**
 * A stdio server's readiness unless set: the bridge's /readyz, which no probe makes start a process.
 * It turns false by itself when a process fails to answer initialize; the threshold only absorbs
 * a bridge slow to answer on a busy machine (a burst of session processes starting).
 */
export const STDIO_READINESS_PROBE = { httpGet: { path: '/readyz' }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 } as const;

/** Replicas a server may have: a bound for the `replica` metric label, and far past any core count. */
export const MAX_REPLICAS = 64;

export const DEFAULT_STARTUP_PROBE = { tcpSocket: {}, periodSeconds: 0.1, failureThreshold: 300 } as const;

export const serverSchema = z.strictObject({
  /** `http`: the server listens on its port. `stdio`: JSON-RPC on stdin and stdout, bridged to HTTP by mcpmux. */
  transport: z.enum(['http', 'stdio']).default('http'),
  /** With transport: stdio. */
  stdio: stdioSchema.optional(),
  command: z.string({ error: 'is required' }).min(1, { error: 'must not be empty' }),
  args: z.array(z.string()).default([]),
  cwd: z.string().min(1).default('.'),
  env: z.record(z.string(), z.string()).default({}),
  port: z.union([z.literal('auto'), portNumber], { error: 'must be "auto" or a port number from 1 to 65535' }).default('auto'),
  /** Processes of this server, each with its own port, probes and restarts; requests are balanced over the ready ones. */
  replicas: z.number().int().min(1).max(MAX_REPLICAS, { error: `must be at most ${MAX_REPLICAS}` }).default(1),
  prefix: prefixSchema.optional(),
  startupProbe: probeSchema.prefault(DEFAULT_STARTUP_PROBE),
  readinessProbe: probeSchema.optional(),
  livenessProbe: probeSchema.optional(),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
  /** Restart delays: initialSeconds doubling to maxSeconds; reset once a process ran resetAfterSeconds. */
  backoff: z
    .strictObject({ initialSeconds: seconds(0.5), maxSeconds: seconds(30), resetAfterSeconds: seconds(60) })
    .prefault({}),
  terminationGracePeriodSeconds: z.number().min(0).default(10),
  /** How long a replaced process (a rollout, a reload) may finish its requests and sessions before it is stopped. */
  drainSeconds: z.number().min(0).default(60),
  /** `inherit` the top-level auth, `none` for an open route, or this server's own tokens. */
  auth: z.union([z.literal('inherit'), z.literal('none'), authSchema], { error: 'must be "inherit", "none" or { bearerTokens: [...], oauth: {...} }' }).default('inherit'),
  /** Pass the client's Authorization header on to the child. Off: mcpmux's token stays at the edge. Never on an OAuth route. */
  forwardAuthorization: z.boolean().default(false),
  /**
   * On an OAuth route, tell the child who called: header name to token claim (`X-Mcp-Subject: sub`).
   * A client's own copies of these headers are removed first; a claim the token lacks sends none.
   */
  /** What a caller may do on this route (auth/policy.ts): scopes for every request, and per tool, prompt and resource. Needs auth.oauth. */
  policy: policySchema.optional(),
  forwardIdentity: z.record(headerName, z.string().min(1)).optional(),
  /** Requests this server may have in flight at once; past it, 503 with Retry-After. */
  maxInFlight: z.number().int().min(1).optional(),
  /** A non-streaming answer that takes longer than this (between bytes) gets 504. */
  upstreamTimeoutSeconds: z.number().positive().optional(),
  /** Let `Upgrade` requests (e.g. WebSocket) through to this server. */
  allowUpgrade: z.boolean().default(false),
  /** Variables of mcpmux's environment this child inherits, besides its own `env`. */
  inheritEnv: z.array(z.string().min(1)).default(DEFAULT_INHERITED_ENV),
});

const hostList = z.array(z.string().min(1)).optional();

/**
 * Traces (tracing/), exported over OTLP/HTTP. Each field mirrors an OTEL_* variable of mcpmux's
 * environment and wins over it; what a field leaves unset, the environment fills (tracing/settings.ts).
 * Tracing is on once an endpoint is known, here or in the environment; OTEL_SDK_DISABLED=true turns it off.
 */
export const tracingSchema = z.strictObject({
  /** The collector, as OTEL_EXPORTER_OTLP_ENDPOINT: `/v1/traces` is appended unless the path already ends in it. */
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://otel-collector:4318' }).optional(),
  /** Sent with every export (e.g. an API key, as `${VAR}`): merged over OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, these winning. */
  headers: z.record(headerName, z.string().regex(/^[^\r\n\0]*$/, { error: 'must not contain a line break' })).optional(),
  /** Parent-based: a caller's sampled flag is followed; `ratio` decides for a trace that starts at mcpmux. Unset: OTEL_TRACES_SAMPLER, else always on. */
  sampler: z.strictObject({ ratio: z.number().min(0).max(1) }).optional(),
  /** service.name of mcpmux's spans. Unset: OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else `mcpmux`. */
  serviceName: z.string().min(1).optional(),
  /** Give every server's processes the OTEL_* environment to export to the same collector, as service <server name>; their own env still wins. */
  serverEnv: z.boolean().default(false),
});

export type TracingConfig = z.infer<typeof tracingSchema>;

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: listenerPort.default(8080),
      /** Host header values the public listener accepts; unset = loopback names when bound to loopback, else any. */
      allowedHosts: hostList,
      /** Origin header values the public listener accepts; unset = loopback origins when bound to loopback, else any. */
      allowedOrigins: hostList,
      /**
       * The origin clients use (`https://mcp.example.com`): the base of every route's resource URL
       * (RFC 8707/9728). Never derived from Host. Required once a route uses auth.oauth.
       */
      publicUrl: z
        .url({ protocol: /^https?$/, error: 'must be an http(s) origin, e.g. https://mcp.example.com' })
        .refine((url) => { const u = new URL(url); return (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash && !u.username; }, { error: 'must be an origin only (scheme, host, port): no path, query or fragment' })
        .transform((url) => new URL(url).origin)
        .optional(),
      /** Peers (IPs or CIDRs) whose X-Forwarded-* headers are believed; everyone else's are replaced. */
      trustedProxies: z.array(z.string().min(1)).default([]),
      limits: z
        .strictObject({
          maxBodyBytes: z.number().int().min(0).default(4 * 1024 * 1024),
          /**
           * Sized for the 2026-07-28 wire, where tool arguments marked x-mcp-header travel as
           * Mcp-Param-* headers (base64 where not ASCII): Envoy's 60 KiB and a count well past one
           * header per argument. nginx's defaults (8 KiB a line) would refuse a 20 KB argument.
           */
          maxHeaderBytes: z.number().int().min(1024).default(64 * 1024),
          maxHeaderCount: z.number().int().min(1).default(200),
          headersTimeoutSeconds: z.number().positive().default(10),
          requestTimeoutSeconds: z.number().positive().default(60),
          maxConnections: z.number().int().min(1).default(4096),
          /** Connections one client address may hold; trusted proxies are exempt. Unset: no cap. */
          maxConnectionsPerClient: z.number().int().min(1).optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  auth: authSchema.optional(),
  tracing: tracingSchema.optional(),
  /**
   * Which process made each MCP session, so its requests reach it (replicas, rollouts): bounded per
   * server and per client on a server (routing/session-table.ts). 10,000 sessions a server at ~150
   * bytes each (and as many ended ones) is ~2.5 MB a server; 1,000 a client holds one client to a
   * tenth of that, and is far above what one real client keeps open.
   */
  affinity: z
    .strictObject({
      maxSessions: z.number().int().min(1).default(10_000),
      maxSessionsPerClient: z.number().int().min(1).default(1000),
      idleTimeoutSeconds: z.number().positive().default(3600),
    })
    .prefault({}),
  /**
   * Sessions across pods (cluster/): every session id a child mints is sealed with the owner pod's
   * address, and any pod relays a session's requests to its owner. Unset: nothing changes.
   */
  cluster: z
    .strictObject({
      /** The shared secret that seals session ids and marks relayed requests: the same in every pod, at least 32 characters. */
      sessionKey: secretSchema,
      /** Keys of a rotation: ids and marks made with them still open; nothing new is made with them. */
      previousSessionKeys: z.array(secretSchema).default([]),
      /** Where the other pods reach this one's public listener, as IP:port (`${POD_IP}:8080`); sealed into its ids. */
      advertiseAddress: z.string().min(1),
      /**
       * Where peer pods may be (IPs or CIDRs, the pod network). Set: an owner outside is never
       * connected to, a mark from outside is not believed, and peers are exempt from
       * listen.limits.maxConnectionsPerClient. Unset: the seal alone decides.
       */
      peers: z.array(z.string().min(1)).default([]),
      /** How long a relay waits to connect to an owner before the session counts as gone (404). */
      connectTimeoutSeconds: seconds(2),
    })
    .optional(),
  admin: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: listenerPort.default(9090),
    })
    .prefault({}),
  shutdown: z
    .strictObject({
      delaySeconds: z.number().min(0).default(0),
      gracePeriodSeconds: z.number().min(0).default(30),
    })
    .prefault({}),
  servers: z
    .record(z.string().regex(SERVER_NAME, { error: 'a server name must match [a-z0-9][a-z0-9-]*' }), serverSchema, {
      error: 'must be a map of server name to server',
    })
    .refine((servers) => Object.keys(servers).length > 0, { error: 'must name at least one server' }),
});

type ParsedConfig = z.infer<typeof configSchema>;
type ParsedServer = z.infer<typeof serverSchema>;

/** A route's OAuth settings, resolved for that route: its resource URL and audiences known. */
export interface ResolvedOAuth {
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  /** The route's resource URL (listen.publicUrl + prefix): RFC 9728 `resource`, and the audience unless set. */
  readonly resource: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly logSubject: boolean;
}

/** Auth with its secrets read: the tokens themselves; and OAuth, resolved for the route. */
export interface ResolvedAuth {
  readonly tokens: readonly string[];
  readonly resourceMetadataUrl?: string | undefined;
  readonly oauth?: ResolvedOAuth | undefined;
}

/** One server, resolved: defaults applied, prefix known, paths absolute, auth decided. */
export interface ServerConfig extends Omit<ParsedServer, 'prefix' | 'auth'> {
  readonly name: string;
  readonly prefix: string;
  /** The tokens this server's route demands, or undefined for an open route. */
  readonly auth: ResolvedAuth | undefined;
}

/** The cluster settings with their secrets read. */
export interface ClusterConfig {
  /** The session key first, then previous ones. */
  readonly keys: readonly string[];
  readonly advertiseAddress: string;
  readonly peers: readonly string[];
  readonly connectTimeoutSeconds: number;
}

export interface Config extends Omit<ParsedConfig, 'servers' | 'auth' | 'cluster'> {
  readonly cluster: ClusterConfig | undefined;
  /** Where the config came from: a file path, or "(bundled default)". */
  readonly source: string;
  readonly servers: readonly ServerConfig[];
}
