/**
 * With tracing off, mcpmux loads not one module of tracing's machinery (its tracer, its encoding,
 * the OTLP exporter's transport, OTel core); with it on, those and never the OTel SDK's tracer or
 * transformer, which it does without. A module hook (fixtures/record-loads, through
 * `node --import`) writes down every URL mcpmux resolves.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { fixture, MAIN, makeTempDir, ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';

/** mcpmux's environment without the OTEL_* variables a developer's shell may hold (empty is unset). */
const NO_OTEL = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_SDK_DISABLED: '' };
const SDK = /\/node_modules\/@opentelemetry\/(sdk-trace|exporter-trace-otlp-proto|otlp-exporter-base|otlp-transformer|resources|core)\/|\/dist\/src\/tracing\/(sdk|tracer|recorded-span|span-batches|otlp-encoding)\.js$/;
/** The OTel SDK's parts that mcpmux's own tracer replaces: never loaded. */
const REPLACED = /\/node_modules\/@opentelemetry\/(sdk-trace|sdk-trace-base|exporter-trace-otlp-proto|otlp-transformer|resources)\//;
const config = { listen: { host: '127.0.0.1' }, servers: { echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT } } };

/** Runs mcpmux through a call and its stop; returns every module URL it resolved. */
async function modulesOf(env: Record<string, string>): Promise<string[]> {
  const file = path.join(makeTempDir('mcpmux-loads-'), 'loads.txt');
  const mux = await startMcpmux(config, { entrypoint: [process.execPath, '--import', pathToFileURL(fixture('record-loads')).href, MAIN], env: { ...NO_OTEL, ...env, LOADS_FILE: file } });
  await mux.waitReady();
  const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
  assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
  await client.close();
  assert.equal(await mux.stop(), 0);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('tracing’s modules are loaded only when tracing is on', () => {
  after(stopAll);

  it('loads none of it with tracing off, through a call and a stop', async () => {
    const modules = await modulesOf({});
    assert.ok(modules.some((url) => url.endsWith('/dist/src/app.js')), 'the hook saw mcpmux load');
    assert.ok(modules.some((url) => url.includes('/node_modules/prom-client/')), 'and its packages');
    assert.deepEqual(modules.filter((url) => SDK.test(url)), []);
  });

  it('loads its tracer and the OTLP transport once OTEL_EXPORTER_OTLP_ENDPOINT is set, and none of the SDK parts it replaces', async () => {
    const modules = await modulesOf({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    for (const part of ['/@opentelemetry/otlp-exporter-base/', '/@opentelemetry/core/', '/dist/src/tracing/sdk.js', '/dist/src/tracing/tracer.js', '/dist/src/tracing/otlp-encoding.js']) {
      assert.ok(modules.some((url) => url.includes(part)), `${part} is loaded`);
    }
    assert.deepEqual(modules.filter((url) => REPLACED.test(url)), []);
  });
});
