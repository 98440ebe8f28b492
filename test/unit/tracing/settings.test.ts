import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TracingConfig } from '../../../src/config/schema.js';
import { resolveTracing, type TracingSettings } from '../../../src/tracing/settings.js';

const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
const config = (fields: Partial<TracingConfig> = {}): TracingConfig => ({ serverEnv: false, ...fields });

type Case = [name: string, config: TracingConfig | undefined, env: NodeJS.ProcessEnv, expected: Partial<TracingSettings> | 'off', warnings?: string[]];

function runCases(cases: Case[]): void {
  for (const [name, tracing, env, expected, warnings = []] of cases) {
    it(name, () => {
      const resolved = resolveTracing(tracing, env);
      assert.deepEqual(resolved.warnings, warnings);
      if (expected === 'off') return assert.equal(resolved.settings, undefined);
      assert.ok(resolved.settings, 'tracing is on');
      const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, resolved.settings![key as keyof TracingSettings]]));
      assert.deepEqual(picked, expected);
    });
  }
}

describe('tracing on or off', () => {
  runCases([
    ['off with no endpoint anywhere', undefined, {}, 'off'],
    ['off with a tracing block but no endpoint', config({ sampler: { ratio: 0.5 } }), {}, 'off'],
    ['on with tracing.endpoint, /v1/traces appended', config({ endpoint: 'http://otel:4318' }), {}, { tracesUrl: 'http://otel:4318/v1/traces' }],
    ['tracing.endpoint with a path keeps it', config({ endpoint: 'https://otel.example.com/otlp/' }), {}, { tracesUrl: 'https://otel.example.com/otlp/v1/traces' }],
    ['tracing.endpoint that already ends in /v1/traces is not appended to', config({ endpoint: 'http://otel:4318/v1/traces' }), {}, { tracesUrl: 'http://otel:4318/v1/traces' }],
    ['on with OTEL_EXPORTER_OTLP_ENDPOINT, /v1/traces appended', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp' }, { tracesUrl: 'http://collector:4318/otlp/v1/traces' }],
    ['on with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is', undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom' }, { tracesUrl: 'http://collector:4318/custom' }],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT', undefined, { ...ON, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces' }, { tracesUrl: 'http://traces:4318/v1/traces' }],
    ['tracing.endpoint wins over the environment', config({ endpoint: 'http://mine:4318' }), { ...ON, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces' }, { tracesUrl: 'http://mine:4318/v1/traces' }],
    ['an empty variable is unset', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: ' ', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }, 'off'],
    ['OTEL_SDK_DISABLED=true turns off what the environment turned on', undefined, { ...ON, OTEL_SDK_DISABLED: 'true' }, 'off'],
    ['OTEL_SDK_DISABLED=TRUE turns off what the config turned on, and says so', config({ endpoint: 'http://otel:4318' }), { OTEL_SDK_DISABLED: 'TRUE' }, 'off', ['tracing.endpoint is set, but OTEL_SDK_DISABLED=true turns tracing off']],
    ['OTEL_SDK_DISABLED=false leaves it on', undefined, { ...ON, OTEL_SDK_DISABLED: 'false' }, { tracesUrl: 'http://collector:4318/v1/traces' }],
    ['OTEL_SDK_DISABLED of another value is a warning, and false', undefined, { ...ON, OTEL_SDK_DISABLED: 'yes' }, { tracesUrl: 'http://collector:4318/v1/traces' }, ['OTEL_SDK_DISABLED: expected true or false, got "yes"; using false']],
    ['a traces endpoint that is not a URL is a warning; the base endpoint is used', undefined, { ...ON, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }, { tracesUrl: 'http://collector:4318/v1/traces' }, ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http(s) URL, got "collector:4318"; ignored']],
    ['a base endpoint that is not http(s) is a warning, and tracing stays off', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }, 'off', ['OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL, got "grpc://collector:4317"; ignored']],
    ['serverEnv is off unless the config turns it on', undefined, ON, { serverEnv: false }],
    ['tracing.serverEnv turns it on', config({ serverEnv: true }), ON, { serverEnv: true }],
  ]);
});

describe('the service and its resource', () => {
  runCases([
    ['the service is mcpmux by default', undefined, ON, { serviceName: 'mcpmux', resourceAttributes: {} }],
    ['OTEL_SERVICE_NAME names it', undefined, { ...ON, OTEL_SERVICE_NAME: 'gateway' }, { serviceName: 'gateway' }],
    ['service.name in OTEL_RESOURCE_ATTRIBUTES names it, and leaves the attributes', undefined, { ...ON, OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge,k8s.pod.name=p-1' }, { serviceName: 'edge', resourceAttributes: { 'k8s.pod.name': 'p-1' } }],
    ['OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES', undefined, { ...ON, OTEL_SERVICE_NAME: 'gateway', OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge' }, { serviceName: 'gateway', resourceAttributes: {} }],
    ['tracing.serviceName wins over OTEL_SERVICE_NAME', config({ serviceName: 'mine' }), { ...ON, OTEL_SERVICE_NAME: 'gateway' }, { serviceName: 'mine' }],
    ['OTEL_RESOURCE_ATTRIBUTES is percent-decoded and trimmed', undefined, { ...ON, OTEL_RESOURCE_ATTRIBUTES: ' deployment.environment = prod%20eu , team=a%2Cb,' }, { resourceAttributes: { 'deployment.environment': 'prod eu', team: 'a,b' } }],
    ['OTEL_RESOURCE_ATTRIBUTES with an invalid entry is ignored whole, with a warning', undefined, { ...ON, OTEL_RESOURCE_ATTRIBUTES: 'team=a,broken,bad=%E0%A4%A' }, { resourceAttributes: {} }, ['OTEL_RESOURCE_ATTRIBUTES: cannot read "broken", "bad=%E0%A4%A" (key=value, values percent-encoded); the variable is ignored']],
  ]);
});

describe('the headers of an export', () => {
  runCases([
    ['none by default', undefined, ON, { headers: {} }],
    ['OTEL_EXPORTER_OTLP_HEADERS, percent-decoded, names in lower case', undefined, { ...ON, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc,X-Team=a' }, { headers: { authorization: 'Bearer abc', 'x-team': 'a' } }],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS win over OTEL_EXPORTER_OTLP_HEADERS, key by key', undefined, { ...ON, OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'B=3' }, { headers: { a: '1', b: '3' } }],
    ['tracing.headers win over the environment, key by key', config({ headers: { 'X-Api-Key': 'mine' } }), { ...ON, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=env,other=1' }, { headers: { 'x-api-key': 'mine', other: '1' } }],
    ['an invalid entry is left out, the value never repeated in the warning', undefined, { ...ON, OTEL_EXPORTER_OTLP_HEADERS: 'a=1,secret-without-equals' }, { headers: { a: '1' } }, ['OTEL_EXPORTER_OTLP_HEADERS: 1 entry not of the form key=value (values percent-encoded) left out']],
  ]);
});

describe('the sampler', () => {
  runCases([
    ['parent-based, always on, by default', undefined, ON, { sampler: { parentBased: true, ratio: 1 } }],
    ['always_on', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'always_on' }, { sampler: { parentBased: false, ratio: 1 } }],
    ['always_off', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'always_off' }, { sampler: { parentBased: false, ratio: 0 } }],
    ['traceidratio with its argument', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, { sampler: { parentBased: false, ratio: 0.25 } }],
    ['parentbased_always_on', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, { sampler: { parentBased: true, ratio: 1 } }],
    ['parentbased_always_off', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, { sampler: { parentBased: true, ratio: 0 } }],
    ['parentbased_traceidratio with its argument', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }, { sampler: { parentBased: true, ratio: 0.01 } }],
    ['a sampler name in any case', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'ParentBased_Always_Off' }, { sampler: { parentBased: true, ratio: 0 } }],
    ['a ratio sampler without its argument samples everything', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'traceidratio' }, { sampler: { parentBased: false, ratio: 1 } }],
    ['an unknown sampler is a warning, and the default', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'jaeger_remote' }, { sampler: { parentBased: true, ratio: 1 } }, ['OTEL_TRACES_SAMPLER: expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "jaeger_remote"; using parentbased_always_on']],
    ['a ratio out of range is a warning, and 1', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, { sampler: { parentBased: true, ratio: 1 } }, ['OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "1.5"; using 1']],
    ['an argument for a sampler that takes none is ignored', undefined, { ...ON, OTEL_TRACES_SAMPLER: 'always_off', OTEL_TRACES_SAMPLER_ARG: 'x' }, { sampler: { parentBased: false, ratio: 0 } }],
    ['tracing.sampler.ratio wins, parent-based', config({ sampler: { ratio: 0.1 } }), { ...ON, OTEL_TRACES_SAMPLER: 'always_on' }, { sampler: { parentBased: true, ratio: 0.1 } }],
  ]);
});

describe('the export queue', () => {
  runCases([
    ['bounded by default', undefined, ON, { queue: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 } }],
    ['OTEL_BSP_* set it', undefined, { ...ON, OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_BSP_SCHEDULE_DELAY: '0', OTEL_BSP_EXPORT_TIMEOUT: '500' }, { queue: { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 0, exportTimeoutMillis: 500 } }],
    ['a queue smaller than the default batch takes the batch down with it', undefined, { ...ON, OTEL_BSP_MAX_QUEUE_SIZE: '64' }, { queue: { maxQueueSize: 64, maxExportBatchSize: 64, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 } }],
    ['an invalid value is a warning, and the default', undefined, { ...ON, OTEL_BSP_SCHEDULE_DELAY: '1s', OTEL_BSP_MAX_QUEUE_SIZE: '0' }, { queue: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 } }, ['OTEL_BSP_MAX_QUEUE_SIZE: expected a whole number of at least 1, got "0"; using 2048', 'OTEL_BSP_SCHEDULE_DELAY: expected a whole number of at least 0, got "1s"; using 1000']],
    ['a batch larger than the queue is a warning, and the queue', undefined, { ...ON, OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' }, { queue: { maxQueueSize: 100, maxExportBatchSize: 100, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 } }, ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 200 is more than the queue holds (100); using 100']],
  ]);
});
