/**
 * The config loader as an input parser, fuzzed (fast-check, fixed seed, bounded runs): whatever
 * the document, it returns a frozen config or throws one ConfigError whose problems are all
 * `path: message` lines — never a crash, never a stack trace — and the CLI exits 2 with them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { validateConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { writeConfig } from '../../helpers/mcpmux.js';
import { MAIN } from '../../helpers/paths.js';

const SEED = 20261123;
const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
const withSometimes = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const probe = fc.record(
  {
    tcpSocket: withSometimes(fc.oneof(fc.constant({}), value)),
    httpGet: withSometimes(fc.record({ path: withSometimes(value), httpHeaders: withSometimes(value) }, { requiredKeys: [] })),
    mcp: withSometimes(fc.oneof(fc.constant({}), value)),
    periodSeconds: withSometimes(fc.oneof(fc.double(), value)),
    failureThreshold: withSometimes(fc.oneof(fc.integer(), value)),
  },
  { requiredKeys: [] },
);

const server = fc.record(
  {
    command: withSometimes(fc.oneof(fc.constant('node'), value)),
    args: withSometimes(fc.oneof(fc.array(fc.oneof(fc.string(), fc.constant('{{port}}'), fc.constant('{{nope}}'))), value)),
    cwd: withSometimes(value),
    env: withSometimes(fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant('${UNSET_FUZZ_VAR}'))), value)),
    port: withSometimes(fc.oneof(fc.constant('auto'), fc.integer({ min: -5, max: 70000 }), value)),
    prefix: withSometimes(fc.oneof(fc.constantFrom('/a', '/a/', 'a', '/a/../b', '/', '//', '/%2e'), value)),
    startupProbe: withSometimes(probe),
    livenessProbe: withSometimes(probe),
    restartPolicy: withSometimes(fc.oneof(fc.constantFrom('Always', 'OnFailure', 'Never'), value)),
    auth: withSometimes(fc.oneof(fc.constantFrom('inherit', 'none'), fc.record({ bearerTokens: fc.array(fc.oneof(fc.record({ env: fc.string() }), fc.record({ file: fc.string() }), value), { maxLength: 2 }) }), value)),
    junk: withSometimes(value),
  },
  { requiredKeys: [] },
);

const document = fc.oneof(
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        listen: withSometimes(fc.oneof(fc.record({ host: withSometimes(value), port: withSometimes(fc.oneof(fc.integer({ min: -10, max: 70000 }), value)), trustedProxies: withSometimes(fc.array(fc.string(), { maxLength: 2 })) }, { requiredKeys: [] }), value)),
        admin: withSometimes(value),
        servers: withSometimes(fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('a', 'math', 'Bad Name', '-x'), fc.string()), server, { maxKeys: 3 }), value)),
        extra: withSometimes(value),
      },
      { requiredKeys: [] },
    ),
  },
);

const LINE = /^[^\n]*: [^\n]+$/;

describe('config loader fuzz', () => {
  it('returns a frozen config or one ConfigError of path: message lines, for any document', () => {
    fc.assert(
      fc.property(document, (doc) => {
        try {
          const config = validateConfig(doc, '/etc/mcpmux/fuzz.yaml', { env: {} });
          assert.ok(Object.isFrozen(config));
        } catch (error) {
          assert.ok(error instanceof ConfigError, `not a ConfigError: ${(error as Error)?.stack}`);
          assert.ok(error.problems.length > 0);
          for (const line of error.message.split('\n')) assert.match(line, LINE);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('makes `mcpmux check` exit 2 with path: message lines, never a stack trace', () => {
    const samples = fc.sample(document.filter((d) => d !== undefined), { seed: SEED, numRuns: 12 });
    for (const doc of samples) {
      const file = writeConfig(stringify(doc) ?? '', 'fuzz.yaml');
      const result = spawnSync(process.execPath, [MAIN, 'check', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      if (result.status === 0) continue;
      assert.equal(result.status, 2, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      for (const line of result.stderr.trim().split('\n')) assert.match(line, LINE);
    }
  });
});
