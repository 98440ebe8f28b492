import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerConfig } from '../../../src/config/schema.js';
import { buildChildEnv } from '../../../src/supervisor/child-env.js';
import { readBridgeTracing, TRACING_ENV } from '../../../src/tracing/bridge-env.js';
import { addTracingEnv, tracingEnv } from '../../../src/tracing/child-env.js';
import { parseKeyValues } from '../../../src/tracing/key-values.js';
import { DEFAULT_QUEUE, type TracingSettings } from '../../../src/tracing/settings.js';

const SETTINGS: TracingSettings = {
  tracesUrl: 'http://collector:4318/v1/traces',
  headers: {},
  serviceName: 'gateway',
  resourceAttributes: { 'deployment.environment': 'prod' },
  sampler: { parentBased: true, ratio: 0.25 },
  serverEnv: false,
  queue: DEFAULT_QUEUE,
};
const server = (name: string, transport: 'http' | 'stdio' = 'http') => ({ name, transport }) as ServerConfig;

describe('the OTEL_* environment of a process that joins the trace', () => {
  it('names the collector, the protocol, the service, and a parent-based sampler with mcpmux\'s ratio', () => {
    assert.deepEqual(tracingEnv(SETTINGS, 'math'), {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'math',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
  });

  it('passes the headers percent-encoded, as every OTel SDK reads them back', () => {
    const headers = { authorization: 'Bearer a b,c=d', 'x-team': 'ü' };
    const env = tracingEnv({ ...SETTINGS, headers }, 'math');
    assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'authorization=Bearer%20a%20b%2Cc%3Dd,x-team=%C3%BC');
    assert.deepEqual(parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS!), { values: headers, invalid: [] });
  });
});

describe('what tracing adds to a server\'s processes', () => {
  const cases: [string, boolean, 'http' | 'stdio', string[], boolean][] = [
    ['an http server, serverEnv off: nothing', false, 'http', [], false],
    ['an http server, serverEnv on: the OTEL_* environment', true, 'http', ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_SERVICE_NAME', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'], false],
    ['a stdio server, serverEnv off: its bridge gets MCPMUX_TRACING, the server nothing', false, 'stdio', [], true],
    ['a stdio server, serverEnv on: both', true, 'stdio', ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_SERVICE_NAME', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'], true],
  ];
  for (const [name, serverEnv, transport, envKeys, bridge] of cases) {
    it(name, () => {
      const added = addTracingEnv({ ...SETTINGS, serverEnv })(server('math', transport));
      assert.deepEqual(Object.keys(added.env ?? {}), envKeys);
      if (envKeys.length > 0) assert.equal(added.env?.OTEL_SERVICE_NAME, 'math');
      assert.deepEqual(Object.keys(added.bridge ?? {}), bridge ? [TRACING_ENV] : []);
    });
  }

  it('puts the OTEL_* environment over what the child inherits, and under its own env', () => {
    const added = addTracingEnv({ ...SETTINGS, serverEnv: true })(server('math')).env;
    const env = buildChildEnv({ inheritEnv: ['PATH', 'OTEL_SERVICE_NAME'], env: { OTEL_TRACES_SAMPLER: 'always_off' } }, 4242, { PATH: '/bin', OTEL_SERVICE_NAME: 'inherited' }, added);
    assert.equal(env.OTEL_SERVICE_NAME, 'math');
    assert.equal(env.OTEL_TRACES_SAMPLER, 'always_off');
    assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'http://collector:4318/v1/traces');
    assert.equal(env.PATH, '/bin');
  });
});

describe('the bridge\'s tracing, handed down in MCPMUX_TRACING', () => {
  it('reads back what mcpmux wrote, mcp.server.name among the resource attributes', () => {
    const env = addTracingEnv(SETTINGS)(server('memory', 'stdio')).bridge!;
    assert.deepEqual(readBridgeTracing(env), { settings: { ...SETTINGS, resourceAttributes: { 'deployment.environment': 'prod', 'mcp.server.name': 'memory' } }, warnings: [] });
  });

  const cases: [string, NodeJS.ProcessEnv, string[]][] = [
    ['unset: off, nothing to say', {}, []],
    ['not JSON: off, with a warning', { [TRACING_ENV]: '{' }, ['MCPMUX_TRACING: not JSON; tracing is off in this bridge']],
    ['not settings: off, with a warning naming what is wrong', { [TRACING_ENV]: JSON.stringify({ ...SETTINGS, tracesUrl: 'ftp://x', sampler: { parentBased: true, ratio: 2 } }) }, ['MCPMUX_TRACING: not tracing settings (tracesUrl, sampler.ratio); tracing is off in this bridge']],
  ];
  for (const [name, env, warnings] of cases) {
    it(name, () => assert.deepEqual(readBridgeTracing(env), { settings: undefined, warnings }));
  }
});
