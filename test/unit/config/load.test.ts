import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText, validateConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const FILE = '/etc/mcpmux/mcpmux.yaml';

function problemsOf(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(doc, FILE, { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'MCPMUX_ERR_CONFIG');
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

const server = (extra: Record<string, unknown> = {}) => ({ command: 'node', ...extra });

describe('config errors, one rule each', () => {
  const cases: [string, unknown, string[]][] = [
    ['no servers key', {}, ['servers: is required']],
    ['an empty servers map', { servers: {} }, ['servers: must name at least one server']],
    ['servers as a list', { servers: [1] }, ['servers: expected a map, got a list']],
    ['an unknown top-level key', { servers: { a: server() }, extra: 1 }, ['extra: unknown key']],
    ['an unknown server key', { servers: { a: server({ colour: 1 }) } }, ['servers.a.colour: unknown key']],
    ['an unknown probe key', { servers: { a: server({ startupProbe: { tcpSocket: {}, perod: 1 } }) } }, ['servers.a.startupProbe.perod: unknown key']],
    ['a missing command', { servers: { a: {} } }, ['servers.a.command: is required']],
    ['an empty command', { servers: { a: server({ command: '' }) } }, ['servers.a.command: must not be empty']],
    ['a bad server name', { servers: { 'My Server': server() } }, ['servers.My Server: a server name must match [a-z0-9][a-z0-9-]*']],
    ['a prefix without "/"', { servers: { a: server({ prefix: 'a' }) } }, ['servers.a.prefix: must start with "/"']],
    ['a prefix with a trailing "/"', { servers: { a: server({ prefix: '/a/' }) } }, ['servers.a.prefix: must not end with "/"']],
    ['a prefix with ".."', { servers: { a: server({ prefix: '/a/../b' }) } }, ['servers.a.prefix: must not contain "." or ".." segments']],
    ['a prefix with "//"', { servers: { a: server({ prefix: '/a//b' }) } }, ['servers.a.prefix: must not contain an empty segment ("//")']],
    ['a prefix with "?"', { servers: { a: server({ prefix: '/a?b' }) } }, ['servers.a.prefix: has a character a path segment cannot hold: "a?b"']],
    ['duplicate prefixes', { servers: { a: server({ prefix: '/x' }), b: server({ prefix: '/x' }) } }, ['servers.b.prefix: "/x" is already the prefix of server a']],
    ['a default prefix taken by another', { servers: { a: server(), b: server({ prefix: '/a' }) } }, ['servers.b.prefix: "/a" is already the prefix of server a']],
    ['a port too high', { servers: { a: server({ port: 70000 }) } }, ['servers.a.port: must be at most 65535, got number 70000']],
    ['port 0 for a child', { servers: { a: server({ port: 0 }) } }, ['servers.a.port: must be at least 1, got number 0']],
    ['a port as a word', { servers: { a: server({ port: 'any' }) } }, ['servers.a.port: must be "auto" or a port number from 1 to 65535']],
    ['a fractional port', { servers: { a: server({ port: 80.5 }) } }, ['servers.a.port: must be "auto" or a port number from 1 to 65535']],
    ['two servers on one fixed port', { servers: { a: server({ port: 7000 }), b: server({ port: 7000 }) } }, ['servers.b.port: 7000 is already used by servers.a.port']],
    ['a child on the admin port', { servers: { a: server({ port: 9090 }) } }, ['servers.a.port: 9090 is already used by admin.port']],
    ['admin and public on one port', { listen: { port: 7000 }, admin: { port: 7000 }, servers: { a: server() } }, ['admin.port: 7000 is already used by listen.port']],
    ['replicas on a fixed port', { servers: { a: server({ port: 7001, replicas: 2 }) } }, ['servers.a.replicas: 2 replicas need port: auto (each replica gets its own port); port 7001 can hold one']],
    ['too many replicas', { servers: { a: server({ replicas: 65 }) } }, ['servers.a.replicas: must be at most 64, got number 65']],
    ['a listener port out of range', { listen: { port: -1 }, servers: { a: server() } }, ['listen.port: must be at least 0, got number -1']],
    ['args not a list', { servers: { a: server({ args: 'x' }) } }, ['servers.a.args: expected a list, got string "x"']],
    ['env values not strings', { servers: { a: server({ env: { A: 1 } }) } }, ['servers.a.env.A: expected string, got number 1']],
    ['a bad restart policy', { servers: { a: server({ restartPolicy: 'Sometimes' }) } }, ['servers.a.restartPolicy: expected one of "Always", "OnFailure", "Never", got string "Sometimes"']],
    ['a probe with no kind', { servers: { a: server({ livenessProbe: { periodSeconds: 1 } }) } }, ['servers.a.livenessProbe: must set exactly one of tcpSocket, httpGet, mcp']],
    ['a probe with two kinds', { servers: { a: server({ livenessProbe: { tcpSocket: {}, mcp: {} } }) } }, ['servers.a.livenessProbe: must set exactly one of tcpSocket, httpGet, mcp, got tcpSocket and mcp']],
    ['a zero period', { servers: { a: server({ readinessProbe: { tcpSocket: {}, periodSeconds: 0 } }) } }, ['servers.a.readinessProbe.periodSeconds: must be greater than 0, got number 0']],
    ['a zero failure threshold', { servers: { a: server({ readinessProbe: { tcpSocket: {}, failureThreshold: 0 } }) } }, ['servers.a.readinessProbe.failureThreshold: must be at least 1, got number 0']],
    ['an httpGet path without "/"', { servers: { a: server({ readinessProbe: { httpGet: { path: 'health' } } }) } }, ['servers.a.readinessProbe.httpGet.path: must start with "/"']],
    ['an unset variable', { servers: { a: server({ env: { T: '${TOKEN}' } }) } }, ['servers.a.env.T: environment variable TOKEN is not set']],
    ['an unknown placeholder', { servers: { a: server({ args: ['--port={{prot}}'] }) } }, ['servers.a.args.0: unknown placeholder {{prot}}; only {{port}} is known']],
    ['an unknown transport', { servers: { a: server({ transport: 'ws' }) } }, ['servers.a.transport: expected one of "http", "stdio", got string "ws"']],
    ['a stdio block on an http server', { servers: { a: server({ stdio: {} }) } }, ['servers.a.stdio: applies only to transport: stdio']],
    ['a port on a stdio server', { servers: { a: server({ transport: 'stdio', port: 8123 }) } }, ['servers.a.port: does not apply to transport: stdio (the server speaks on stdin and stdout; mcpmux picks the port of the bridge in front of it)']],
    ['{{port}} in a stdio server\'s args', { servers: { a: server({ transport: 'stdio', args: ['--port', '{{port}}'] }) } }, ['servers.a.args.1: {{port}} does not apply to transport: stdio (the server speaks on stdin and stdout)']],
    ['{{port}} in a stdio server\'s env', { servers: { a: server({ transport: 'stdio', env: { P: '{{port}}' } }) } }, ['servers.a.env.P: {{port}} does not apply to transport: stdio (the server speaks on stdin and stdout)']],
    ['an mcp probe on a stdio server', { servers: { a: server({ transport: 'stdio', readinessProbe: { mcp: {} } }) } }, ["servers.a.readinessProbe.mcp: an mcp probe would open a session, and so start a process, on every probe; leave it unset: a stdio server's readiness is the bridge's own (a process answered initialize)"]],
    ['a bad sessions mode', { servers: { a: server({ transport: 'stdio', stdio: { sessions: 'pooled' } }) } }, ['servers.a.stdio.sessions: expected one of "isolated", "shared", got string "pooled"']],
    ['warm processes in shared mode', { servers: { a: server({ transport: 'stdio', stdio: { sessions: 'shared', warmProcesses: 3 } }) } }, ['servers.a.stdio.warmProcesses: applies only to sessions: isolated (shared runs one process for every session)']],
    ['zero max sessions', { servers: { a: server({ transport: 'stdio', stdio: { maxSessions: 0 } }) } }, ['servers.a.stdio.maxSessions: must be at least 1, got number 0']],
    ['an unknown stdio key', { servers: { a: server({ transport: 'stdio', stdio: { pool: 2 } }) } }, ['servers.a.stdio.pool: unknown key']],
  ];
  for (const [name, doc, expected] of cases) {
    it(name, () => assert.deepEqual(problemsOf(doc), expected));
  }

  it('lists every problem at once', () => {
    assert.equal(problemsOf({ servers: { a: { prefix: 'x', port: 0 }, b: server({ colour: 1 }) }, extra: 1 }).length, 5);
  });

  it('reports YAML syntax errors with their line', () => {
    assert.throws(() => parseConfigText('servers:\n  a: { command: node\n', FILE), (error: ConfigError) => {
      assert.match(error.message, /^\/etc\/mcpmux\/mcpmux\.yaml: line 3: /);
      return true;
    });
  });

  it('reports duplicate YAML keys', () => {
    assert.throws(() => parseConfigText('servers:\n  a: { command: x }\n  a: { command: y }\n', FILE), /Map keys must be unique/);
  });
});

describe('a valid config', () => {
  it('gets the documented defaults', () => {
    const config = validateConfig({ servers: { math: server() } }, FILE, { env: {} });
    assert.deepEqual(config.listen, {
      host: '0.0.0.0',
      port: 8080,
      trustedProxies: [],
      limits: { maxBodyBytes: 4194304, maxHeaderBytes: 65536, maxHeaderCount: 200, headersTimeoutSeconds: 10, requestTimeoutSeconds: 60, maxConnections: 4096 },
    });
    assert.deepEqual(config.admin, { host: '0.0.0.0', port: 9090 });
    assert.deepEqual(config.shutdown, { delaySeconds: 0, gracePeriodSeconds: 30 });
    const [math] = config.servers;
    assert.deepEqual(math, {
      name: 'math',
      prefix: '/math',
      transport: 'http',
      command: 'node',
      args: [],
      cwd: '/etc/mcpmux',
      env: {},
      port: 'auto',
      replicas: 1,
      startupProbe: { tcpSocket: {}, initialDelaySeconds: 0, periodSeconds: 0.1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 300 },
      restartPolicy: 'Always',
      backoff: { initialSeconds: 0.5, maxSeconds: 30, resetAfterSeconds: 60 },
      terminationGracePeriodSeconds: 10,
      drainSeconds: 60,
      auth: undefined,
      forwardAuthorization: false,
      allowUpgrade: false,
      inheritEnv: ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS'],
    });
  });

  it('is frozen all the way down', () => {
    const config = validateConfig({ servers: { math: server({ args: ['a'] }) } }, FILE, { env: {} });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.servers[0]!.args));
    assert.throws(() => (config.servers[0]!.args as string[]).push('b'), TypeError);
  });

  it('resolves cwd against the config file folder, and takes absolute paths as they are', () => {
    const config = validateConfig({ servers: { a: server({ cwd: '../srv' }), b: server({ cwd: '/opt/b' }) } }, FILE, { env: {} });
    assert.deepEqual(config.servers.map((s) => s.cwd), ['/etc/srv', '/opt/b']);
  });

  it('expands ${VAR} from the environment in any string, with :- fallbacks and $${ escapes', () => {
    const config = validateConfig(
      { listen: { host: '${HOST_IP}' }, servers: { a: server({ command: '${PY:-python3}', args: ['$${literal}', '--token=${TOKEN}'] }) } },
      FILE,
      { env: { HOST_IP: '10.0.0.1', TOKEN: 's3cret' } },
    );
    assert.equal(config.listen.host, '10.0.0.1');
    assert.equal(config.servers[0]!.command, 'python3');
    assert.deepEqual(config.servers[0]!.args, ['${literal}', '--token=s3cret']);
  });

  it('takes --port and --admin-port overrides through the same validation', () => {
    const config = validateConfig({ servers: { a: server() } }, FILE, { env: {}, overrides: { listenPort: 0, adminPort: 0 } });
    assert.equal(config.listen.port, 0);
    assert.equal(config.admin.port, 0);
  });
});

describe('cluster', () => {
  const KEY = 'k'.repeat(32);
  const cluster = (extra: Record<string, unknown> = {}) => ({ servers: { a: server() }, cluster: { sessionKey: { env: 'KEY' }, advertiseAddress: '${POD_IP}:8080', ...extra } });

  it('reads its key once, expands the advertised address, and takes the defaults', () => {
    const config = validateConfig(cluster(), FILE, { env: { KEY, POD_IP: '10.244.1.7' } });
    assert.deepEqual(config.cluster, { keys: [KEY], advertiseAddress: '10.244.1.7:8080', peers: [], connectTimeoutSeconds: 2 });
    assert.equal(validateConfig({ servers: { a: server() } }, FILE, { env: {} }).cluster, undefined);
  });

  it('keeps previous keys after the current one', () => {
    const config = validateConfig(cluster({ previousSessionKeys: [{ env: 'OLD' }] }), FILE, { env: { KEY, OLD: 'o'.repeat(40), POD_IP: '10.0.0.1' } });
    assert.deepEqual(config.cluster?.keys, [KEY, 'o'.repeat(40)]);
  });

  it('says what is wrong with each field, all at once', () => {
    assert.deepEqual(problemsOf(cluster({ advertiseAddress: 'pod-a:8080', peers: ['10.0.0.0/33'], previousSessionKeys: [{ env: 'OLD' }] }), { KEY: 'short' }), [
      'cluster.sessionKey: a session key must be at least 32 characters (e.g. openssl rand -base64 32)',
      'cluster.previousSessionKeys.0.env: environment variable OLD is not set',
      'cluster.advertiseAddress: must be IP:port (e.g. 10.244.1.7:8080 or [fd00::7]:8080, ${POD_IP}:8080 in a pod), got "pod-a:8080"',
      'cluster.peers.0: "10.0.0.0/33" is not an IP address or CIDR range',
    ]);
    assert.deepEqual(problemsOf({ servers: { a: server() }, cluster: { sessionKey: 'inline', advertiseAddress: '10.0.0.1:80' } }), ['cluster.sessionKey: must be { env: NAME } or { file: PATH }']);
    assert.deepEqual(problemsOf({ servers: { a: server() }, cluster: { sessionKey: { env: 'KEY' } } }, { KEY }), ['cluster.advertiseAddress: is required']);
  });
});

describe('a stdio server', () => {
  it('gets the stdio defaults and the bridge\'s readiness probe', () => {
    const config = validateConfig({ servers: { a: server({ transport: 'stdio' }) } }, FILE, { env: {} });
    const [a] = config.servers;
    assert.deepEqual(a!.stdio, { sessions: 'isolated', warmProcesses: 1, maxSessions: 32, sessionRate: { perSecond: 5, burst: 20 }, idleTimeoutSeconds: 600, initializeTimeoutSeconds: 60, maxMessageBytes: 8 * 1024 * 1024 });
    assert.deepEqual(a!.readinessProbe?.httpGet, { path: '/readyz', httpHeaders: [] });
  });
  it('keeps a readiness probe it was given', () => {
    const config = validateConfig({ servers: { a: server({ transport: 'stdio', readinessProbe: { tcpSocket: {} } }) } }, FILE, { env: {} });
    assert.deepEqual(config.servers[0]!.readinessProbe?.tcpSocket, {});
  });
  it('leaves an http server without a stdio block', () => {
    const config = validateConfig({ servers: { a: server() } }, FILE, { env: {} });
    assert.equal(config.servers[0]!.transport, 'http');
    assert.equal(config.servers[0]!.stdio, undefined);
  });
});

describe('tracing', () => {
  const traced = (tracing: unknown) => ({ servers: { a: server() }, tracing });

  it('is left unset when the config has none, and keeps what it is given, ${VAR} expanded', () => {
    assert.equal(validateConfig({ servers: { a: server() } }, FILE, { env: {} }).tracing, undefined);
    const config = validateConfig(traced({ endpoint: 'http://otel:4318', headers: { 'x-api-key': '${KEY}' }, sampler: { ratio: 0.25 }, serviceName: 'gateway' }), FILE, { env: { KEY: 'k1' } });
    assert.deepEqual(config.tracing, { endpoint: 'http://otel:4318', headers: { 'x-api-key': 'k1' }, sampler: { ratio: 0.25 }, serviceName: 'gateway', serverEnv: false });
  });

  const cases: [string, unknown, string[]][] = [
    ['an endpoint that is not http(s)', { endpoint: 'grpc://otel:4317' }, ['tracing.endpoint: must be an http(s) URL, e.g. http://otel-collector:4318']],
    ['an endpoint that is not a URL', { endpoint: 'otel:4318' }, ['tracing.endpoint: must be an http(s) URL, e.g. http://otel-collector:4318']],
    ['a header name with a space', { headers: { 'x api': 'v' } }, ['tracing.headers.x api: must be an HTTP header name']],
    ['a header value with a line break', { headers: { 'x-api': 'a\nb' } }, ['tracing.headers.x-api: must not contain a line break']],
    ['a ratio over 1', { sampler: { ratio: 2 } }, ['tracing.sampler.ratio: must be at most 1, got number 2']],
    ['a negative ratio', { sampler: { ratio: -0.5 } }, ['tracing.sampler.ratio: must be at least 0, got number -0.5']],
    ['a sampler without a ratio', { sampler: {} }, ['tracing.sampler.ratio: is required']],
    ['an empty service name', { serviceName: '' }, ['tracing.serviceName: must not be empty']],
    ['serverEnv not a boolean', { serverEnv: 'yes' }, ['tracing.serverEnv: expected boolean, got string "yes"']],
    ['an unknown tracing key', { exporter: 'otlp' }, ['tracing.exporter: unknown key']],
  ];
  for (const [name, tracing, expected] of cases) {
    it(name, () => assert.deepEqual(problemsOf(traced(tracing)), expected));
  }
});
