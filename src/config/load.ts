/**
 * read file + env -> validate -> one ConfigError listing every problem -> frozen Config.
 * Nothing else in mcpmux parses or defaults config; everything downstream reads the frozen result.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { expandEnv, findUnknownPlaceholders, joinPath } from './expand.js';
import { configSchema, probeSchema, STDIO_DEFAULTS, STDIO_READINESS_PROBE, type Config, type ClusterConfig, type ResolvedAuth, type ServerConfig } from './schema.js';
import { isOwnerAddress } from '../cluster/seal.js';
import { checkPolicyConditions } from './cel.js';
import { isIP } from 'node:net';

/** The config `npm start` uses when none is given: the bundled example servers. */
export const BUNDLED_CONFIG = fileURLToPath(new URL('../../../deploy/examples/default.yaml', import.meta.url));

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides, validated like the file's own values. */
  overrides?: { listenPort?: number; adminPort?: number };
}

/** Reads, expands, validates and freezes a config file. Throws one ConfigError with every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((cause as Error).message);
    throw new ConfigError([{ path: file, message: `cannot read the config file: ${reason}` }], { cause });
  }
  return parseConfigText(text, path.resolve(file), options);
}

/** Validates config text (YAML or JSON) as if it were read from `file`. */
export function parseConfigText(text: string, file: string, options: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ path: file, message: describeYamlError(e.message, text, e.pos[0]) })));
  }
  return validateConfig(doc.toJS() ?? {}, file, options);
}

/** Validates an already parsed document. `file` anchors relative paths. */
export function validateConfig(raw: unknown, file: string, options: LoadOptions = {}): Config {
  const problems: ConfigProblem[] = [];
  const expanded = applyOverrides(expandEnv(raw, options.env ?? process.env, problems), options.overrides);
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue, expanded)));
    throw new ConfigError(dedupeProblems(problems));
  }
  const config = resolveConfig(parsed.data, file, options.env ?? process.env, problems);
  problems.push(...checkCrossFields(config, expanded));
  if (problems.length > 0) throw new ConfigError(dedupeProblems(problems));
  return deepFreeze(config);
}

function applyOverrides(doc: unknown, overrides: LoadOptions['overrides']): unknown {
  if (!overrides || (overrides.listenPort === undefined && overrides.adminPort === undefined)) return doc;
  const base = isRecord(doc) ? doc : {};
  const section = (key: string, port: number | undefined) =>
    port === undefined ? base[key] : { ...(isRecord(base[key]) ? base[key] : {}), port };
  return { ...base, listen: section('listen', overrides.listenPort), admin: section('admin', overrides.adminPort) };
}

function resolveConfig(parsed: z.infer<typeof configSchema>, file: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Config {
  const folder = path.dirname(file);
  const { auth, cluster, ...rest } = parsed;
  const shared = auth && readAuth(auth, 'auth', folder, env, problems);
  const servers: ServerConfig[] = Object.entries(parsed.servers).map(([name, server]) => {
    const prefix = server.prefix ?? `/${name}`;
    const own = server.auth === 'inherit' ? shared : server.auth === 'none' ? undefined : readAuth(server.auth, `servers.${name}.auth`, folder, env, problems);
    return {
      ...server,
      name,
      prefix,
      cwd: path.resolve(folder, server.cwd),
      ...(server.transport === 'stdio' && {
        stdio: server.stdio ?? STDIO_DEFAULTS,
        readinessProbe: server.readinessProbe ?? STDIO_READINESS,
      }),
      auth: own && resolveRouteAuth(own, prefix, parsed.listen.publicUrl),
    };
  });
  return { ...rest, cluster: cluster && readCluster(cluster, folder, env, problems), source: file, servers };
}

type ClusterInput = NonNullable<z.infer<typeof configSchema>['cluster']>;

/** A session key is stretched (HKDF), never used as typed; under 32 characters it is too guessable to seal with. */
const MIN_SESSION_KEY = 32;

function readCluster(cluster: ClusterInput, folder: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): ClusterConfig {
  const keys = [cluster.sessionKey, ...cluster.previousSessionKeys].map((secret, i) => {
    const where = i === 0 ? 'cluster.sessionKey' : `cluster.previousSessionKeys.${i - 1}`;
    const value = readSecret(secret, where, folder, env, problems);
    if (value !== undefined && value.length < MIN_SESSION_KEY) problems.push({ path: where, message: `a session key must be at least ${MIN_SESSION_KEY} characters (e.g. openssl rand -base64 32)` });
    return value ?? '';
  });
  if (!isOwnerAddress(cluster.advertiseAddress)) {
    problems.push({ path: 'cluster.advertiseAddress', message: `must be IP:port (e.g. 10.244.1.7:8080 or [fd00::7]:8080, \${POD_IP}:8080 in a pod), got "${cluster.advertiseAddress}"` });
  }
  cluster.peers.forEach((entry, i) => {
    if (!isAddressOrCidr(entry)) problems.push({ path: `cluster.peers.${i}`, message: `"${entry}" is not an IP address or CIDR range` });
  });
  return { keys, advertiseAddress: cluster.advertiseAddress, peers: cluster.peers, connectTimeoutSeconds: cluster.connectTimeoutSeconds };
}

/** One secret, from its env variable or file (trimmed); a problem at `where` when it cannot be read. */
function readSecret(secret: { env: string } | { file: string }, where: string, folder: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): string | undefined {
  if ('env' in secret) {
    const value = env[secret.env];
    if (value === undefined) problems.push({ path: `${where}.env`, message: `environment variable ${secret.env} is not set` });
    return value?.trim();
  }
  try {
    return readFileSync(path.resolve(folder, secret.file), 'utf8').trim();
  } catch (cause) {
    problems.push({ path: `${where}.file`, message: `cannot read ${secret.file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}` });
    return undefined;
  }
}

type AuthInput = NonNullable<z.infer<typeof configSchema>['auth']>;
type OAuthInput = NonNullable<AuthInput['oauth']>;

/** An auth block with its tokens read; its OAuth part is resolved per route (resolveRouteAuth). */
interface ReadAuth {
  readonly at: string;
  readonly tokens: readonly string[];
  readonly resourceMetadataUrl: string | undefined;
  readonly oauth: OAuthInput | undefined;
  /** Without OAuth, one object serves every route that inherits it. */
  readonly plain: ResolvedAuth;
}

/** Reads every token of an auth block from its env variable or file. */
function readAuth(auth: AuthInput, at: string, folder: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): ReadAuth {
  const tokens = (auth.bearerTokens ?? []).map((secret, i) => {
    const where = `${at}.bearerTokens.${i}`;
    const value = readSecret(secret, where, folder, env, problems);
    if (value !== undefined && value.length < 16) problems.push({ path: where, message: 'a token must be at least 16 characters' });
    return value ?? '';
  });
  if (auth.oauth && auth.resourceMetadataUrl) {
    problems.push({ path: `${at}.resourceMetadataUrl`, message: 'does not apply with oauth: mcpmux serves each route\'s RFC 9728 metadata itself, at /.well-known/oauth-protected-resource<prefix>' });
  }
  return { at, tokens, resourceMetadataUrl: auth.resourceMetadataUrl, oauth: auth.oauth, plain: { tokens, resourceMetadataUrl: auth.resourceMetadataUrl } };
}

/**
 * A route's auth: its OAuth settings resolved for its prefix (the resource URL, the audiences).
 * Without listen.publicUrl the resource is left empty; checkAuthFields says what is missing.
 */
function resolveRouteAuth(auth: ReadAuth, prefix: string, publicUrl: string | undefined): ResolvedAuth {
  const { oauth } = auth;
  if (!oauth) return auth.plain;
  const resource = publicUrl === undefined ? '' : resourceUrlOf(publicUrl, prefix);
  const audiences = oauth.audience === 'auto' ? [resource] : typeof oauth.audience === 'string' ? [oauth.audience] : oauth.audience;
  return {
    tokens: auth.tokens,
    oauth: {
      issuer: oauth.issuer,
      jwksUri: oauth.jwksUri,
      resource,
      audiences,
      algorithms: oauth.algorithms,
      clockToleranceSeconds: oauth.clockToleranceSeconds,
      logSubject: oauth.logSubject,
    },
  };
}

/** A route's resource URL (RFC 8707): the public origin and the route's prefix. */
export function resourceUrlOf(publicUrl: string, prefix: string): string {
  return prefix === '/' ? publicUrl : `${publicUrl}${prefix}`;
}

/** Headers an identity claim may not be written into: HTTP's own, the MCP wire's, and mcpmux's. */
const RESERVED_IDENTITY_HEADERS = new Set([
  'authorization', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive',
  'proxy-authorization', 'cookie', 'accept', 'origin', 'expect', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded',
  'mcp-session-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'last-event-id', 'mcpmux-client', 'mcpmux-peer', 'traceparent', 'tracestate',
]);

/** What an OAuth route needs besides its own block, said as `path: message`. */
function checkAuthFields(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const oauthRoutes = config.servers.filter((server) => server.auth?.oauth);
  if (oauthRoutes.length > 0 && config.listen.publicUrl === undefined) {
    problems.push({ path: 'listen.publicUrl', message: `is required once a route uses auth.oauth (${oauthRoutes.map((s) => s.name).join(', ')}): the origin clients use, e.g. https://mcp.example.com; it names each route's resource and is never derived from Host` });
  }
  for (const server of config.servers) {
    const at = `servers.${server.name}`;
    if (server.auth?.oauth && server.forwardAuthorization) {
      problems.push({ path: `${at}.forwardAuthorization`, message: 'cannot be true on a route with auth.oauth: a client\'s token is for mcpmux alone and never reaches a child (MCP forbids token passthrough); use forwardIdentity to tell the child who called' });
    }
    if (server.policy && !server.auth?.oauth) {
      problems.push({ path: `${at}.policy`, message: 'needs auth.oauth on the route: a policy decides on an access token\'s scopes and claims' });
    }
    if (server.policy && server.allowUpgrade) {
      problems.push({ path: `${at}.allowUpgrade`, message: 'cannot be true on a route with a policy: a policy reads each request\'s body, and the frames of an Upgrade are not' });
    }
    if (server.policy) problems.push(...checkPolicyConditions(server.policy, `${at}.policy`));
    if (server.forwardIdentity && !server.auth?.oauth) {
      problems.push({ path: `${at}.forwardIdentity`, message: 'needs auth.oauth on the route: it copies claims of the caller\'s access token' });
    }
    for (const header of Object.keys(server.forwardIdentity ?? {})) {
      if (RESERVED_IDENTITY_HEADERS.has(header.toLowerCase())) problems.push({ path: `${at}.forwardIdentity.${header}`, message: 'is a header mcpmux or HTTP itself sets; name another (e.g. X-Mcp-Subject)' });
    }
  }
  return problems;
}

const STDIO_READINESS = probeSchema.parse(STDIO_READINESS_PROBE);

/** What makes no sense on a stdio server, said as `path: message`. */
function checkStdioFields(server: ServerConfig, raw: { port?: unknown }): ConfigProblem[] {
  const at = `servers.${server.name}`;
  if (server.transport !== 'stdio') {
    return server.stdio ? [{ path: `${at}.stdio`, message: 'applies only to transport: stdio' }] : [];
  }
  const problems: ConfigProblem[] = [];
  if (raw.port !== undefined) problems.push({ path: `${at}.port`, message: 'does not apply to transport: stdio (the server speaks on stdin and stdout; mcpmux picks the port of the bridge in front of it)' });
  server.args.forEach((arg, i) => {
    if (arg.includes('{{port}}')) problems.push({ path: `${at}.args.${i}`, message: '{{port}} does not apply to transport: stdio (the server speaks on stdin and stdout)' });
  });
  for (const [key, value] of Object.entries(server.env)) {
    if (value.includes('{{port}}')) problems.push({ path: `${at}.env.${key}`, message: '{{port}} does not apply to transport: stdio (the server speaks on stdin and stdout)' });
  }
  for (const role of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    if (server[role]?.mcp) {
      problems.push({ path: `${at}.${role}.mcp`, message: "an mcp probe would open a session, and so start a process, on every probe; leave it unset: a stdio server's readiness is the bridge's own (a process answered initialize)" });
    }
  }
  if (server.stdio?.sessions === 'shared' && server.stdio.warmProcesses !== STDIO_DEFAULTS.warmProcesses && server.stdio.warmProcesses !== 0) {
    problems.push({ path: `${at}.stdio.warmProcesses`, message: 'applies only to sessions: isolated (shared runs one process for every session)' });
  }
  return problems;
}

function checkCrossFields(config: Config, raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [...checkAuthFields(config)];
  config.listen.trustedProxies.forEach((entry, i) => {
    if (!isAddressOrCidr(entry)) problems.push({ path: `listen.trustedProxies.${i}`, message: `"${entry}" is not an IP address or CIDR range` });
  });
  const prefixes = new Map<string, string>();
  const ports = new Map<number, string>();
  if (config.listen.port !== 0) ports.set(config.listen.port, 'listen.port');
  if (config.admin.port !== 0) {
    if (ports.has(config.admin.port)) problems.push({ path: 'admin.port', message: `${config.admin.port} is already used by listen.port` });
    ports.set(config.admin.port, 'admin.port');
  }
  const rawServers = isRecord(raw) && isRecord(raw.servers) ? raw.servers : {};
  for (const server of config.servers) {
    const at = `servers.${server.name}`;
    const rawServer = rawServers[server.name];
    problems.push(...checkStdioFields(server, isRecord(rawServer) ? rawServer : {}));
    const owner = prefixes.get(server.prefix);
    if (owner) problems.push({ path: `${at}.prefix`, message: `"${server.prefix}" is already the prefix of server ${owner}` });
    else prefixes.set(server.prefix, server.name);
    if (server.port !== 'auto' && server.replicas > 1) {
      problems.push({ path: `${at}.replicas`, message: `${server.replicas} replicas need port: auto (each replica gets its own port); port ${server.port} can hold one` });
    }
    if (server.port !== 'auto') {
      const portOwner = ports.get(server.port);
      if (portOwner) problems.push({ path: `${at}.port`, message: `${server.port} is already used by ${portOwner}` });
      else ports.set(server.port, `${at}.port`);
    }
    server.args.forEach((arg, i) => {
      for (const p of findUnknownPlaceholders(arg)) problems.push({ path: `${at}.args.${i}`, message: `unknown placeholder ${p}; only {{port}} is known` });
    });
    for (const [key, value] of Object.entries(server.env)) {
      for (const p of findUnknownPlaceholders(value)) problems.push({ path: `${at}.env.${key}`, message: `unknown placeholder ${p}; only {{port}} is known` });
    }
  }
  return problems;
}

/** Turns one zod issue into user-facing `path: message` lines. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): ConfigProblem[] {
  const at = joinPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: joinPath([...issue.path, key]), message: 'unknown key' }));
    case 'invalid_type': {
      const got = valueAt(input, issue.path);
      if (got === undefined) return [{ path: at, message: 'is required' }];
      return [{ path: at, message: `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(got)}` }];
    }
    case 'invalid_value':
      return [{ path: at, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(valueAt(input, issue.path))}` }];
    case 'invalid_key':
      return [{ path: joinPath([...issue.path]), message: issue.issues[0]?.message ?? issue.message }];
    case 'too_small':
      if (issue.origin !== 'number') return [{ path: at, message: 'must not be empty' }];
      return [{ path: at, message: `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}, got ${describeValue(valueAt(input, issue.path))}` }];
    case 'too_big':
      return [{ path: at, message: `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${describeValue(valueAt(input, issue.path))}` }];
    default:
      return [{ path: at, message: issue.message }];
  }
}

const TYPE_NAMES: Record<string, string> = { record: 'a map', object: 'a map', array: 'a list', int: 'an integer' };

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let node = input;
  for (const key of at) {
    if (!isRecord(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${typeof value} ${text.slice(0, 37)}...` : `${typeof value} ${text}`;
}

function describeYamlError(message: string, text: string, offset: number): string {
  const line = text.slice(0, offset).split('\n').length;
  return `line ${line}: ${message.split('\n')[0]}`;
}

function dedupeProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
