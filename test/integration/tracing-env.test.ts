/**
 * What tracing puts in the children's environment: with tracing.serverEnv, the OTEL_* variables
 * (as service <server name>, the server's own env still winning); a stdio server's process never
 * sees the bridge's MCPMUX_TRACING. The processes write their environment down (fixtures/writes-env).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const NO_OTEL = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_SDK_DISABLED: '' };

/** Starts mcpmux with an HTTP and a stdio server that write down their environment; returns both. */
async function childEnvs(tracing: Record<string, unknown>): Promise<{ web: Record<string, string>; memory: Record<string, string> }> {
  const dir = makeTempDir('mcpmux-env-');
  const files = { web: path.join(dir, 'web.json'), memory: path.join(dir, 'memory.json') };
  const mux = await startMcpmux({
    listen: { host: '127.0.0.1' },
    tracing,
    servers: {
      web: fixtureServer('writes-env', { env: { ENV_FILE: files.web, OTEL_TRACES_SAMPLER: 'always_on' } }),
      // Its warm process starts with the bridge, and writes its environment at once.
      memory: fixtureServer('writes-env', { transport: 'stdio', env: { ENV_FILE: files.memory } }),
    },
  }, { env: NO_OTEL });
  const read = (file: string) => waitFor(() => JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>, `${path.basename(file)} written`);
  const envs = { web: await read(files.web), memory: await read(files.memory) };
  await mux.stop();
  return envs;
}

const otelOf = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('OTEL_')));

describe('tracing in the children\'s environment', () => {
  after(stopAll);

  it('gives every server\'s processes the OTEL_* environment with serverEnv, their own env winning, and MCPMUX_TRACING to none', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const { web, memory } = await childEnvs({ endpoint, serverEnv: true, sampler: { ratio: 0.5 } });
    assert.deepEqual(otelOf(web), {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'web',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
    });
    assert.equal(memory.OTEL_SERVICE_NAME, 'memory');
    assert.equal(memory.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, `${endpoint}/v1/traces`);
    for (const env of [web, memory]) assert.equal(env.MCPMUX_TRACING, undefined);
    assert.equal(memory.MCPMUX_BRIDGE_KEY, undefined);
  });

  it('gives them nothing of tracing without serverEnv', async () => {
    const { web, memory } = await childEnvs({ endpoint: `http://127.0.0.1:${await freePort()}` });
    assert.deepEqual(otelOf(web), { OTEL_TRACES_SAMPLER: 'always_on' });
    assert.deepEqual(otelOf(memory), {});
    assert.equal(memory.MCPMUX_TRACING, undefined);
  });
});
