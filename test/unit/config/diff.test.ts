import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffConfigs } from '../../../src/config/diff.js';
import { validateConfig } from '../../../src/config/load.js';

const config = (servers: Record<string, Record<string, unknown>>, rest: Record<string, unknown> = {}) =>
  validateConfig({ ...rest, servers }, '/etc/mcpmux/mcpmux.yaml', { env: { TOKEN_A: 'a-token-of-sixteen-chars', TOKEN_B: 'b-token-of-sixteen-chars' } });
const base = { command: 'node', args: ['echo.js'] };

describe('what a reload does', () => {
  const cases: [string, Record<string, Record<string, unknown>>, unknown][] = [
    ['nothing changed', { echo: base }, []],
    ['a new server starts', { echo: base, math: { command: 'node' } }, [['start', 'math']]],
    ['a removed server is removed', {}, [['remove', 'echo']]],
    ['env rolls the server', { echo: { ...base, env: { A: '1' } } }, [['rollout', 'echo', ['env']]]],
    ['args roll it', { echo: { ...base, args: ['echo.js', '--v2'] } }, [['rollout', 'echo', ['args']]]],
    ['a probe rolls it', { echo: { ...base, readinessProbe: { tcpSocket: {} } } }, [['rollout', 'echo', ['readinessProbe']]]],
    ['auth only updates the route', { echo: { ...base, auth: { bearerTokens: [{ env: 'TOKEN_B' }] } } }, [['update', 'echo', ['auth']]]],
    ['limits and the prefix only update the route', { echo: { ...base, maxInFlight: 4, prefix: '/e', upstreamTimeoutSeconds: 5 } }, [['update', 'echo', ['maxInFlight', 'prefix', 'upstreamTimeoutSeconds']]]],
    ['the restart policy updates the server', { echo: { ...base, restartPolicy: 'Never', backoff: { maxSeconds: 5 } } }, [['update', 'echo', ['backoff', 'restartPolicy']]]],
    ['a policy change with a process change rolls', { echo: { ...base, maxInFlight: 4, env: { A: '1' } } }, [['rollout', 'echo', ['env', 'maxInFlight']]]],
    ['a new replica count scales, the other replicas untouched', { echo: { ...base, replicas: 3, maxInFlight: 4 } }, [['scale', 'echo', ['maxInFlight', 'replicas']]]],
    ['a new replica count with a process change rolls', { echo: { ...base, replicas: 3, env: { A: '1' } } }, [['rollout', 'echo', ['env', 'replicas']]]],
  ];
  const running = config({ echo: { ...base, auth: { bearerTokens: [{ env: 'TOKEN_A' }] } } });
  for (const [name, servers, expected] of cases) {
    it(name, () => {
      const withAuth = Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, k === 'echo' && !('auth' in v) ? { ...v, auth: { bearerTokens: [{ env: 'TOKEN_A' }] } } : v]));
      const next = Object.keys(servers).length === 0 ? config({ other: base }) : config(withAuth);
      const { actions, refused } = diffConfigs(running, next);
      const described = actions.filter((a) => a.action !== 'start' || a.server.name !== 'other').map((a) => (a.action === 'remove' ? [a.action, a.name] : a.action === 'start' ? [a.action, a.server.name] : [a.action, a.server.name, a.fields]));
      assert.deepEqual(described, expected);
      assert.deepEqual(refused, []);
    });
  }

  it('takes env in another key order for the same env', () => {
    const a = config({ echo: { ...base, env: { A: '1', B: '2' } } });
    const b = config({ echo: { ...base, env: { B: '2', A: '1' } } });
    assert.deepEqual(diffConfigs(a, b).actions, []);
  });

  it('refuses a change to a listener, naming each path', () => {
    const a = config({ echo: base }, { listen: { port: 8080 } });
    const b = config({ echo: base, math: base }, { listen: { port: 8081, host: '127.0.0.1' }, admin: { port: 9191 } });
    assert.deepEqual(diffConfigs(a, b).refused.map((p) => p.path), ['listen.host', 'listen.port', 'admin.port']);
  });
});

describe('a reload and tracing', () => {
  it('refuses a change to tracing, which needs a restart, and changes nothing', () => {
    const a = config({ echo: base });
    const b = config({ echo: base, math: base }, { tracing: { endpoint: 'http://otel:4318' } });
    const { refused } = diffConfigs(a, b);
    assert.deepEqual(refused.map((p) => `${p.path}: ${p.message}`), ["tracing: changing it needs a restart of mcpmux (the tracer, its exporter and the children's tracing environment are made at start); the reload changed nothing"]);
    const c = config({ echo: base }, { tracing: { endpoint: 'http://otel:4318', sampler: { ratio: 0.5 } } });
    assert.deepEqual(diffConfigs(b, c).refused.map((p) => p.path), ['tracing.sampler']);
    assert.deepEqual(diffConfigs(c, c).refused, []);
  });
});
