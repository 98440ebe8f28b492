/**
 * The Helm chart, rendered for real (helm, or the same engine built from Debian's Go packages)
 * and every manifest validated against the Kubernetes schemas.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { writeConfig } from '../helpers/mcpmux.js';
import { CHART, lintChart, mergedValues, renderChart, renderNotes, renderUpgrade, type Manifest } from '../helpers/helm.js';
import { MAIN } from '../helpers/paths.js';
import { parseConfigText } from '../../src/config/load.js';
import { serverSchema, stdioSchema, tracingSchema } from '../../src/config/schema.js';
import { CHART_SCHEMA, chartSchemaText } from '../helm/schema.js';

/** Every optional piece switched on. */
const ALL_ON = {
  replicaCount: 3,
  prometheus: { annotations: true, serviceMonitor: { enabled: true, labels: { release: 'prometheus' }, interval: '15s', scrapeTimeout: '5s' } },
  grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'MCP' } },
  podDisruptionBudget: { enabled: true },
  autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5 },
  ingress: { enabled: true, tls: [{ secretName: 'mcp-tls', hosts: ['mcp.example.com'] }] },
  networkPolicy: { enabled: true, ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] },
  allowedHosts: ['mcp.example.com'],
  extraEnv: [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'tokens', key: 'api' } } }],
  extraVolumes: [{ name: 'servers', configMap: { name: 'my-servers' } }],
  extraVolumeMounts: [{ name: 'servers', mountPath: '/srv' }],
  cluster: { peers: ['10.244.0.0/16'], connectTimeoutSeconds: 5 },
};

/** What the Deployment gives mcpmux, for loading the rendered config as a pod would. */
const POD_ENV = { POD_IP: '10.244.1.7', MCPMUX_SESSION_KEY: 'a-session-key-of-at-least-32-characters' };

const MODELS: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/** Validates a manifest against its Kubernetes schema; throws with the schema's complaint. */
async function validateManifest(manifest: Manifest): Promise<void> {
  const module = MODELS[manifest.apiVersion];
  assert.ok(module, `no schema for ${manifest.apiVersion}`);
  const models = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[manifest.kind];
  assert.ok(Model, `no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest).validate();
}

/** mcpmux's environment without the OTEL_* variables a developer's shell may hold. */
const withoutOtel = (env: NodeJS.ProcessEnv) => Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('OTEL_')));

const byKind = (manifests: Manifest[], kind: string) => {
  const found = manifests.find((m) => m.kind === kind);
  assert.ok(found, `a ${kind} is rendered`);
  return found as Manifest & { spec: any; data: any };
};

/** The mcpmux config the ConfigMap carries, as parsed YAML. */
const renderedConfig = (values: unknown = {}) => parse(byKind(renderChart(values), 'ConfigMap').data['mcpmux.yaml']);

/** The mcpmux container's env, by name. */
const containerEnv = (manifests: Manifest[]): Map<string, any> =>
  new Map((byKind(manifests, 'Deployment').spec.template.spec.containers[0].env ?? []).map((e: { name: string }) => [e.name, e]));

describe('the Helm chart', () => {
  it('passes helm lint --strict, when helm is installed', (t) => {
    const lint = lintChart();
    if (!lint) return t.skip('helm is not installed; the chart is rendered by test/helm/render.go instead');
    assert.equal(lint.status, 0, lint.output);
  });

  it('renders valid Kubernetes manifests with the default values', async () => {
    const manifests = renderChart();
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'Secret', 'Service', 'ServiceAccount']);
    for (const m of manifests) await validateManifest(m);
  });

  it('renders valid manifests with every toggle switched on', async () => {
    const manifests = renderChart(ALL_ON);
    assert.deepEqual(manifests.map((m) => m.kind).sort(), [
      'ConfigMap', 'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor',
    ]);
    for (const m of manifests) await validateManifest(m);
    const deployment = byKind(manifests, 'Deployment');
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
    assert.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], '9090');
    const monitor = byKind(manifests, 'ServiceMonitor');
    assert.equal(monitor.metadata.labels!.release, 'prometheus');
    assert.deepEqual(monitor.spec.endpoints, [{ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '5s' }]);
    const ingress = byKind(manifests, 'Ingress');
    assert.equal(ingress.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-buffering'], 'off');
    const dashboard = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard')) as Manifest & { data: Record<string, string> };
    assert.equal(dashboard.metadata.labels!.grafana_dashboard, '1', "the Grafana sidecar's default label");
    assert.equal(dashboard.metadata.annotations!.grafana_folder, 'MCP');
    assert.deepEqual(JSON.parse(dashboard.data['mcpmux.json']!), JSON.parse(readFileSync(path.join(CHART, 'dashboards/mcpmux.json'), 'utf8')), 'the dashboard, whole');
    assert.ok(Number(ingress.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600);
  });

  it('points every probe at the admin port, on /healthz and /readyz', () => {
    const deployment = byKind(renderChart({ ports: { metrics: 9191 } }), 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    assert.deepEqual(container.ports.find((p: { name: string }) => p.name === 'metrics'), { name: 'metrics', containerPort: 9191, protocol: 'TCP' });
    assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
    const config = parse(byKind(renderChart({ ports: { metrics: 9191 } }), 'ConfigMap').data['mcpmux.yaml']);
    assert.equal(config.admin.port, 9191, 'mcpmux listens where the probes knock');
  });

  it('gives the pod enough grace for preStop, delay, drain and the children', () => {
    const cases: [Record<string, unknown>, number][] = [
      [{}, 5 + 0 + 30 + 5],
      [{ preStopSleepSeconds: 10, shutdown: { delaySeconds: 2, gracePeriodSeconds: 60 } }, 10 + 2 + 60 + 5],
      [{ terminationGracePeriodSeconds: 10 }, 40],
      [{ terminationGracePeriodSeconds: 300 }, 300],
    ];
    for (const [values, expected] of cases) {
      const deployment = byKind(renderChart(values), 'Deployment');
      const spec = deployment.spec.template.spec;
      assert.equal(spec.terminationGracePeriodSeconds, expected, JSON.stringify(values));
      const preStop = Number(spec.containers[0].lifecycle.preStop.exec.command[1]);
      const config = parse(byKind(renderChart(values), 'ConfigMap').data['mcpmux.yaml']);
      assert.ok(spec.terminationGracePeriodSeconds >= preStop + config.shutdown.delaySeconds + config.shutdown.gracePeriodSeconds);
    }
  });

  it('changes the config checksum when, and only when, the config changes', () => {
    const checksum = (values: unknown) => byKind(renderChart(values), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    const base = checksum({});
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(checksum({}), base);
    assert.equal(checksum({ replicaCount: 2 }), base, 'a change outside the config keeps the pods');
    assert.notEqual(checksum({ servers: { math: { args: ['dist/servers/math/other.js'] } } }), base);
    assert.notEqual(checksum({ shutdown: { gracePeriodSeconds: 45 } }), base);
    assert.notEqual(checksum({ cluster: { peers: ['10.244.0.0/16'] } }), base, 'the cluster section is config');
    assert.equal(checksum({ cluster: { existingSecret: 'keys' } }), base, 'the key comes from env: a new Secret is not a new config');
  });

  it('reloads the mounted config in place instead, with configChange: reload', () => {
    const deployment = byKind(renderChart({ configChange: 'reload' }), 'Deployment');
    assert.equal(deployment.spec.template.metadata.annotations['checksum/config'], undefined, 'a config change no longer rolls the pods');
    assert.ok(deployment.spec.template.spec.containers[0].args.includes('--watch-config'));
    const mount = deployment.spec.template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'config');
    assert.equal(mount.subPath, undefined, 'a subPath mount would never see the update');
    assert.ok(!byKind(renderChart({}), 'Deployment').spec.template.spec.containers[0].args.includes('--watch-config'));
  });

  it('carries servers from values intact into the ConfigMap, which passes mcpmux check', () => {
    const servers = {
      echo: { command: 'node', args: ['dist/servers/echo/main.js'], cwd: '/app' },
      math: null,
      github: {
        command: 'npx',
        args: ['-y', 'some-mcp-server', '--port', '{{port}}'],
        env: { TOKEN: '${GITHUB_TOKEN}', MODE: 'http' },
        prefix: '/gh',
        port: 'auto',
        readinessProbe: { mcp: { path: '/mcp' }, periodSeconds: 5 },
        restartPolicy: 'OnFailure',
        terminationGracePeriodSeconds: 5,
      },
    };
    const config = parse(byKind(renderChart({ servers }), 'ConfigMap').data['mcpmux.yaml']);
    assert.deepEqual(config.servers, { echo: servers.echo, github: servers.github });
    const file = writeConfig(config, 'mcpmux.yaml');
    const check = spawnSync(process.execPath, [MAIN, 'check', '--config', file], { encoding: 'utf8', env: { ...process.env, ...POD_ENV, GITHUB_TOKEN: 't' } });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^ {2}github {2}\/gh {2}port auto {2}npx -y some-mcp-server --port \{\{port\}\}/m);
  });

  it('has a values.schema.json that accepts the defaults and rejects bad values', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    assert.equal(validate(mergedValues()), true, JSON.stringify(validate.errors));
    assert.equal(validate(mergedValues(ALL_ON)), true, JSON.stringify(validate.errors));
    const bad: [unknown, string][] = [
      [{ replicaCount: -1 }, '/replicaCount'],
      [{ servers: { math: { port: 'any' } } }, '/servers/math/port'],
      [{ servers: { Math: { command: 'node' } } }, '/servers'],
      [{ servers: { x: { args: ['a'] } } }, '/servers/x'],
      [{ servers: { math: { colour: 'blue' } } }, '/servers/math'],
      [{ ports: { http: 70000 } }, '/ports/http'],
      [{ prometheus: { serviceMonitor: { interval: 'often' } } }, '/prometheus/serviceMonitor/interval'],
      [{ grafanaDashboard: { labels: { grafana_dashboard: 1 } } }, '/grafanaDashboard/labels/grafana_dashboard'],
      [{ cluster: { enabled: 'yes' } }, '/cluster/enabled'],
      [{ cluster: { connectTimeoutSeconds: 0 } }, '/cluster/connectTimeoutSeconds'],
      [{ cluster: { peers: '10.244.0.0/16' } }, '/cluster/peers'],
      [{ cluster: { sessionKey: { env: 'KEY' } } }, '/cluster'],
      [{ service: { sessionAffinity: 'Sticky' } }, '/service/sessionAffinity'],
      [{ typo: true }, ''],
    ];
    for (const [values, at] of bad) {
      assert.equal(validate(mergedValues(values)), false, `${JSON.stringify(values)} is rejected`);
      assert.ok(validate.errors!.some((e) => e.instancePath.startsWith(at)), `${JSON.stringify(values)}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it("generates the servers and shutdown parts of values.schema.json from mcpmux's own config schema (run npm run chart:schema after changing it)", () => {
    assert.equal(readFileSync(CHART_SCHEMA, 'utf8'), chartSchemaText(), 'values.schema.json has drifted from src/config/schema.ts: run npm run chart:schema');
  });

  it('accepts servers that set every field mcpmux accepts, stdio ones included, and renders them into a ConfigMap that passes mcpmux check', () => {
    const every = {
      transport: 'http',
      command: 'node',
      args: ['dist/servers/echo/main.js'],
      cwd: '/app',
      env: { MODE: 'every' },
      port: 8123,
      replicas: 1,
      prefix: '/every',
      startupProbe: { tcpSocket: {}, periodSeconds: 0.1, failureThreshold: 300 },
      readinessProbe: { httpGet: { path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, periodSeconds: 5 },
      livenessProbe: { mcp: { path: '/mcp' }, initialDelaySeconds: 1, periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
      restartPolicy: 'OnFailure',
      backoff: { initialSeconds: 1, maxSeconds: 10, resetAfterSeconds: 30 },
      terminationGracePeriodSeconds: 5,
      drainSeconds: 30,
      auth: { bearerTokens: [{ env: 'EVERY_TOKEN' }], resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/every/mcp' },
      forwardAuthorization: true,
      maxInFlight: 8,
      upstreamTimeoutSeconds: 30,
      allowUpgrade: true,
      inheritEnv: ['PATH', 'HOME'],
    };
    // A stdio server: the same chart values, no special casing; only what applies to stdio.
    const stdio = {
      transport: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-memory@2026.8.31'],
      stdio: { sessions: 'isolated', warmProcesses: 2, maxSessions: 16, maxSessionsPerClient: 4, sessionRate: { perSecond: 2, burst: 8 }, idleTimeoutSeconds: 300, initializeTimeoutSeconds: 90, maxMessageBytes: 1048576 },
    };
    // An OAuth route: its own auth, a policy with a CEL rule, and identity headers.
    const guarded = {
      command: 'node',
      args: ['dist/servers/math/main.js'],
      auth: { oauth: { issuer: 'https://keycloak.example.com/realms/mcp', jwksUri: 'https://keycloak.example.com/realms/mcp/protocol/openid-connect/certs', audience: 'mcpmux', algorithms: ['RS256', 'ES256'], clockToleranceSeconds: 10, logSubject: true } },
      policy: { scopes: ['math:read'], tools: { add: { scopes: ['math:write'] }, 'admin_*': { when: 'claims.groups.exists(g, g == "ops")' } }, prompts: { greet: { scopes: ['math:read'] } }, resources: { 'file:///secret/*': { scopes: ['secrets'] } } },
      forwardIdentity: { 'X-Mcp-Subject': 'sub' },
    };
    assert.deepEqual([...new Set([...Object.keys(every), ...Object.keys(stdio), ...Object.keys(guarded)])].sort(), Object.keys(serverSchema.shape).sort(), 'the servers set every field of the config schema');
    assert.deepEqual(Object.keys(stdio.stdio).sort(), Object.keys(stdioSchema.shape).sort(), 'the stdio server sets every stdio field');
    const values = mergedValues({ servers: { every, stdio, guarded }, publicUrl: 'https://mcp.example.com' });
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')));
    assert.equal(validate(values), true, JSON.stringify(validate.errors));
    const config = parse(byKind(renderChart({ servers: { every, stdio, guarded }, publicUrl: 'https://mcp.example.com' }), 'ConfigMap').data['mcpmux.yaml']);
    assert.deepEqual(config.servers.every, every);
    assert.deepEqual(config.servers.stdio, stdio);
    assert.deepEqual(config.servers.guarded, guarded);
    assert.equal(config.listen.publicUrl, 'https://mcp.example.com');
    const check = spawnSync(process.execPath, [MAIN, 'check', '--config', writeConfig(config, 'mcpmux.yaml')], { encoding: 'utf8', env: { ...process.env, ...POD_ENV, EVERY_TOKEN: 'a-token-of-24-characters' } });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^ {2}every {2}\/every {2}port 8123 /m);
    assert.match(check.stdout, /^ {2}stdio {2}\/stdio {2}stdio, isolated sessions {2}npx /m);
  });

  it('carries a top-level auth block and publicUrl into the config, validated by the chart schema and by mcpmux check (a bad CEL rule refused by both)', () => {
    const auth = { bearerTokens: [{ env: 'MCPMUX_TOKEN' }], oauth: { issuer: 'https://keycloak.example.com/realms/mcp' } };
    const servers = { math: { command: 'node', args: ['dist/servers/math/main.js'], cwd: '/app', policy: { scopes: ['math:read'] } } };
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')));
    assert.equal(validate(mergedValues({ auth, servers, publicUrl: 'https://mcp.example.com' })), true, JSON.stringify(validate.errors));
    assert.equal(validate(mergedValues({ auth: { oauth: { issuer: 'https://x.example.com', algorithms: ['HS256'] } } })), false, 'HMAC refused by the chart schema');
    const config = parse(byKind(renderChart({ auth, servers, publicUrl: 'https://mcp.example.com' }), 'ConfigMap').data['mcpmux.yaml']);
    assert.deepEqual(config.auth, auth);
    const check = (doc: unknown) => spawnSync(process.execPath, [MAIN, 'check', '--config', writeConfig(doc, 'mcpmux.yaml')], { encoding: 'utf8', env: { ...process.env, ...POD_ENV, MCPMUX_TOKEN: 'a-token-of-24-characters' } });
    assert.equal(check(config).status, 0, check(config).stderr);
    const bad = parse(byKind(renderChart({ auth, publicUrl: 'https://mcp.example.com', servers: { math: { ...servers.math, policy: { tools: { 'admin_*': { when: 'claims.groups.exists(g, g ==' } } } } } }), 'ConfigMap').data['mcpmux.yaml']);
    const refused = check(bad);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /servers\.math\.policy\.tools\.admin_\*\.when: /);
  });

  it('carries a tracing block into the config, validated by the chart schema and by mcpmux check, and renders none by default', () => {
    const tracing = { endpoint: 'http://otel-collector.observability:4318', headers: { 'x-api-key': '${OTLP_API_KEY}' }, sampler: { ratio: 0.1 }, serviceName: 'gateway', serverEnv: true };
    assert.deepEqual(Object.keys(tracing).sort(), Object.keys(tracingSchema.shape).sort(), 'every tracing field is set');
    const servers = { math: { command: 'node', args: ['dist/servers/math/main.js'], cwd: '/app' } };
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')));
    assert.equal(validate(mergedValues({ tracing, servers })), true, JSON.stringify(validate.errors));
    assert.equal(validate(mergedValues({ tracing: { sampler: { ratio: 2 } } })), false, 'a ratio over 1 refused by the chart schema');
    assert.equal(validate(mergedValues({ tracing: { exporter: 'otlp' } })), false, 'an unknown key refused by the chart schema');
    const config = parse(byKind(renderChart({ tracing, servers }), 'ConfigMap').data['mcpmux.yaml']);
    assert.deepEqual(config.tracing, tracing);
    assert.equal(parse(byKind(renderChart({ servers }), 'ConfigMap').data['mcpmux.yaml']).tracing, undefined);
    const check = spawnSync(process.execPath, [MAIN, 'check', '--config', writeConfig(config, 'mcpmux.yaml')], { encoding: 'utf8', env: { ...withoutOtel(process.env), ...POD_ENV, OTLP_API_KEY: 'k1' } });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^tracing: on, http:\/\/otel-collector\.observability:4318\/v1\/traces, service gateway, sampler parent-based ratio 0\.1, servers' env: on$/m);
  });

  it('runs as non-root with a read-only root, no privilege escalation, all capabilities dropped, and /tmp writable', () => {
    const spec = byKind(renderChart(), 'Deployment').spec.template.spec;
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.deepEqual(spec.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    const container = spec.containers[0];
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'));
    assert.ok(spec.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === 'tmp' && v.emptyDir));
    assert.ok(container.resources.requests && container.resources.limits);
  });

  it('selects pods by labels that never change, and names the Service ports http and metrics', () => {
    const manifests = renderChart({ image: { tag: '9.9.9' } });
    const deployment = byKind(manifests, 'Deployment');
    assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'mcpmux', 'app.kubernetes.io/instance': 'release-name' });
    assert.equal(deployment.metadata.labels!['app.kubernetes.io/version'], '9.9.9');
    const service = byKind(manifests, 'Service');
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(service.spec.ports.map((p: { name: string; targetPort: string }) => [p.name, p.targetPort]), [['http', 'http'], ['metrics', 'metrics']]);
  });

  it('prints NOTES with each server URL, and that scaling out needs nothing at the ingress', () => {
    const notes = renderNotes({ replicaCount: 2 });
    assert.match(notes, /math: http:\/\/release-name-mcpmux\.default\.svc:80\/math\/mcp/);
    assert.match(notes, /needs nothing at the ingress/);
    assert.match(notes, /Secret release-name-mcpmux-session-key \(kept on uninstall/);
    assert.doesNotMatch(notes, /upstream-hash-by/);
    assert.doesNotMatch(renderNotes({ replicaCount: 2, cluster: { enabled: false } }), /needs nothing at the ingress/);
    assert.match(renderNotes({ replicaCount: 2, cluster: { enabled: false } }), /cluster\.enabled is false and there can be 2 pods/);
    assert.match(renderNotes({ autoscaling: { enabled: true, maxReplicas: 4 }, cluster: { enabled: false } }), /there can be 4 pods/);
    assert.doesNotMatch(renderNotes({ cluster: { enabled: false } }), /cluster\.enabled is false/, 'one pod has nothing to route');
  });

  it('keeps the session key in a Secret it makes once, annotated to outlive an uninstall', () => {
    const manifests = renderChart();
    const secret = byKind(manifests, 'Secret');
    assert.equal(secret.metadata.name, 'release-name-mcpmux-session-key');
    assert.equal(secret.metadata.annotations!['helm.sh/resource-policy'], 'keep');
    const key = Buffer.from(secret.data['session-key'], 'base64').toString();
    assert.match(key, /^[A-Za-z0-9]{48}$/, 'a random key, long enough for mcpmux (>= 32)');
    assert.notEqual(Buffer.from(byKind(renderChart(), 'Secret').data['session-key'], 'base64').toString(), key, 'random: nothing to read back, a new key');
    assert.deepEqual(containerEnv(manifests).get('MCPMUX_SESSION_KEY'), {
      name: 'MCPMUX_SESSION_KEY',
      valueFrom: { secretKeyRef: { name: 'release-name-mcpmux-session-key', key: 'session-key' } },
    });
  });

  it('reads the session key back on an upgrade, so old and new pods share it', (t) => {
    const kept = Buffer.from('k'.repeat(48)).toString('base64');
    const existing = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'release-name-mcpmux-session-key', namespace: 'default' }, data: { 'session-key': kept } };
    const manifests = renderUpgrade([existing]);
    if (!manifests) return t.skip('helm renders here, and helm template cannot pretend a cluster for lookup');
    assert.equal(byKind(manifests, 'Secret').data['session-key'], kept);
    const elsewhere = renderUpgrade([{ ...existing, metadata: { ...existing.metadata, namespace: 'other' } }])!;
    assert.notEqual(byKind(elsewhere, 'Secret').data['session-key'], kept, "another namespace's Secret is not this release's");
  });

  it('takes the session key from your Secret with cluster.existingSecret, and makes none', () => {
    for (const [cluster, key] of [[{ existingSecret: 'mcp-keys' }, 'session-key'], [{ existingSecret: 'mcp-keys', existingSecretKey: 'seal' }, 'seal']] as const) {
      const manifests = renderChart({ cluster });
      assert.equal(manifests.find((m) => m.kind === 'Secret'), undefined, JSON.stringify(cluster));
      assert.deepEqual(containerEnv(manifests).get('MCPMUX_SESSION_KEY').valueFrom, { secretKeyRef: { name: 'mcp-keys', key } }, JSON.stringify(cluster));
    }
  });

  it("seals session ids with the pod's own IP and public port, in a config that mcpmux loads", () => {
    const manifests = renderChart({ ports: { http: 8181 }, extraEnv: [{ name: 'EXTRA', value: '1' }] });
    const env = containerEnv(manifests);
    assert.deepEqual(env.get('POD_IP'), { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    assert.deepEqual(env.get('EXTRA'), { name: 'EXTRA', value: '1' }, 'extraEnv is still there');
    const text = byKind(manifests, 'ConfigMap').data['mcpmux.yaml'];
    assert.deepEqual(parse(text).cluster, { sessionKey: { env: 'MCPMUX_SESSION_KEY' }, advertiseAddress: '${POD_IP}:8181' }, 'the literal ${POD_IP}, for mcpmux to expand');
    const config = parseConfigText(text, '/etc/mcpmux/mcpmux.yaml', { env: POD_ENV });
    assert.deepEqual(config.cluster, { keys: [POD_ENV.MCPMUX_SESSION_KEY], advertiseAddress: '10.244.1.7:8181', peers: [], connectTimeoutSeconds: 2 });
    assert.throws(() => parseConfigText(text, '/etc/mcpmux/mcpmux.yaml', { env: { MCPMUX_SESSION_KEY: POD_ENV.MCPMUX_SESSION_KEY } }), /POD_IP is not set/);
    const tuned = parseConfigText(byKind(renderChart({ cluster: { peers: ['10.244.0.0/16'], connectTimeoutSeconds: 5 } }), 'ConfigMap').data['mcpmux.yaml'], '/etc/mcpmux/mcpmux.yaml', { env: POD_ENV });
    assert.deepEqual([tuned.cluster?.peers, tuned.cluster?.connectTimeoutSeconds], [['10.244.0.0/16'], 5]);
  });

  it('renders no Secret, no pod env and no cluster config with cluster.enabled: false', () => {
    const manifests = renderChart({ cluster: { enabled: false }, networkPolicy: { enabled: true } });
    assert.equal(manifests.find((m) => m.kind === 'Secret'), undefined);
    assert.equal(byKind(manifests, 'Deployment').spec.template.spec.containers[0].env, undefined);
    assert.equal(parse(byKind(manifests, 'ConfigMap').data['mcpmux.yaml']).cluster, undefined);
    assert.ok(!byKind(manifests, 'NetworkPolicy').spec.ingress.some((rule: any) => rule.from?.some((f: any) => f.podSelector)), 'no rule for pods that do not relay');
    assert.deepEqual([...containerEnv(renderChart({ cluster: { enabled: false }, extraEnv: [{ name: 'EXTRA', value: '1' }] })).keys()], ['EXTRA']);
  });

  it("lets the chart's own pods reach each other's public port through the NetworkPolicy", async () => {
    const manifests = renderChart({ networkPolicy: { enabled: true, ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] } });
    const policy = byKind(manifests, 'NetworkPolicy');
    await validateManifest(policy);
    const selector = byKind(manifests, 'Deployment').spec.selector.matchLabels;
    const fromPods = (spec: any) =>
      spec.ingress.filter((rule: any) => rule.ports.some((p: { port: string }) => p.port === 'http') && rule.from?.some((f: any) => JSON.stringify(f) === JSON.stringify({ podSelector: { matchLabels: selector } })));
    assert.equal(fromPods(policy.spec).length, 1, JSON.stringify(policy.spec.ingress));
    assert.ok(!policy.spec.ingress.some((rule: any) => rule.ports.some((p: { port: string }) => p.port === 'metrics') && JSON.stringify(rule.from).includes('podSelector')), 'the admin port stays metricsFrom only');
    assert.equal(fromPods(byKind(renderChart({ networkPolicy: { enabled: true }, cluster: { enabled: false } }), 'NetworkPolicy').spec).length, 0);
  });

  it('sets no session affinity on the Service, and warns that service.sessionAffinity is ignored', () => {
    for (const values of [{}, { service: { sessionAffinity: 'ClientIP' } }, { service: { sessionAffinity: 'ClientIP' }, cluster: { enabled: false } }]) {
      assert.equal(byKind(renderChart(values), 'Service').spec.sessionAffinity, undefined, JSON.stringify(values));
    }
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')));
    assert.equal(validate(mergedValues({ service: { sessionAffinity: 'ClientIP' } })), true, 'values that set it still install');
    assert.match(renderNotes({ service: { sessionAffinity: 'ClientIP' } }), /WARNING: service\.sessionAffinity is ignored/);
    assert.doesNotMatch(renderNotes({ service: { sessionAffinity: 'None' } }), /WARNING/);
    assert.doesNotMatch(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'), /sessionAffinity|upstream-hash-by/);
  });

  it('documents every key of values.yaml with a comment', () => {
    // Keys at the top level and one level down; the contents of free-form maps are the user's.
    const freeForm = /^(servers|podSecurityContext|securityContext|resources)$/;
    const lines = readFileSync(path.join(CHART, 'values.yaml'), 'utf8').split('\n');
    let section = '';
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const key = /^( {2})?([A-Za-z][\w-]*):/.exec(line);
      if (!key) return;
      if (!key[1]) section = key[2]!;
      else if (freeForm.test(section)) return;
      if (!/^\s*#/.test(lines[i - 1] ?? '')) undocumented.push(key[1] ? `${section}.${key[2]}` : key[2]!);
    });
    assert.deepEqual(undocumented, []);
  });
});
