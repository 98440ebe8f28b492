/**
 * `npm run bench --quick` and `npm run bench:instructions --quick` work end to end, and the bench
 * writes every field. No timing is asserted:
 * performance is judged by the benchmark itself, not by the test suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, ROOT } from '../helpers/paths.js';

describe('the benchmark', () => {
  it('runs in --quick mode and writes every result field as JSON', { timeout: 360_000 }, () => {
    const out = path.join(makeTempDir('mcpmux-bench-test-'), 'results.json');
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, [path.join(ROOT, 'dist/test/bench/run.js'), '--quick', '--out', out], { cwd: ROOT, env, encoding: 'utf8', timeout: 340_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^(PASS|MISS|SKIP) {2}CPU per request vs nginx/m);
    const results = JSON.parse(readFileSync(out, 'utf8'));
    for (const key of ['date', 'node', 'cpus', 'quick', 'toolsCall', 'pinned50', 'sse', 'idleStreamBytes', 'recovery', 'coldStart20Ms', 'change', 'replicas', 'stdio', 'oauth', 'tracing', 'targets']) assert.ok(key in results, key);
    for (const connections of ['1', '50']) {
      for (const target of ['direct', 'mcpmux']) {
        const s = results.toolsCall[connections][target];
        for (const field of ['rps', 'p50', 'p99', 'errors']) assert.equal(typeof s[field], 'number', `${connections}/${target}/${field}`);
        assert.equal(s.errors, 0, `no failed requests (${connections} conn, ${target})`);
      }
      assert.equal(typeof results.toolsCall[connections].mcpmux.cpuUsPerRequest, 'number');
    }
    for (const target of ['direct', 'mcpmux']) assert.deepEqual(Object.keys(results.sse[target]).sort(), ['first', 'last']);
    assert.deepEqual(Object.keys(results.recovery).sort(), ['childColdStartMs', 'killToServingMs']);
    // The stdio row: every target answered every call, with each figure measured.
    assert.deepEqual(Object.keys(results.stdio).sort(), ['mcp-proxy', 'mcpmux', 'mcpmux shared', 'mcpmux, no warm process', 'supergateway']);
    for (const [target, r] of Object.entries<Record<string, any>>(results.stdio)) {
      assert.equal(r.errors, 0, `no failed calls (${target})`);
      for (const value of [r.one.rps, r.one.p50, r.twenty.rps, r.twenty.p50, r.cpuUsPerCall, r.firstResultMs]) assert.ok(Number.isFinite(value) && value > 0, `${target}: ${JSON.stringify(r)}`);
      // A shared process's memory per session is small enough for garbage collection to hide it.
      assert.ok(Number.isFinite(r.memoryPerSessionBytes), `${target}: memory per session`);
    }
    assert.match(run.stdout, /^stdio server, per target/m);
    // The change rows: a reload timed, and a rollout under load that failed no call.
    assert.ok(results.change.sighupToServingMs.every((ms: number) => Number.isFinite(ms) && ms > 0));
    assert.equal(results.change.rollout.failed, 0, 'no call failed during the rollout');
    assert.ok(results.change.rollout.calls > 0);
    assert.equal(results.replicas.errors, 0, 'no failed call on 1 or 2 replicas');
    assert.ok(results.replicas.one.length > 0 && results.replicas.two.every((rps: number) => rps > 0));
    // The OAuth row: an open route, an OAuth route with the token cache warm, and one kept cold.
    for (const connections of ['1', '50']) {
      for (const route of ['open', 'oauth', 'oauth-cold']) {
        const s = results.oauth.load[connections][route];
        for (const field of ['rps', 'p50', 'p99', 'cpuUsPerRequest', 'requests']) assert.ok(Number.isFinite(s[field]), `oauth ${connections}/${route}/${field}`);
        assert.equal(s.errors, 0, `no failed requests (oauth row, ${connections} conn, ${route})`);
      }
      for (const route of ['open', 'oauth']) assert.equal(results.oauth.wrk[connections][route].errors, 0, `no failed requests (oauth row, wrk, ${connections} conn, ${route})`);
      for (const kind of ['warm', 'cold', 'wrkWarm']) assert.ok(Number.isFinite(results.oauth.cpuRatio[kind][connections]), `oauth cpuRatio ${kind} ${connections}`);
    }
    assert.equal(results.oauth.errors, 0);
    assert.ok(results.oauth.keySet.fetches >= 1 && results.oauth.keySet.requests > 0 && results.oauth.keySet.coldRequests > 0, JSON.stringify(results.oauth.keySet));
    assert.ok(results.oauth.coldTokens.used <= results.oauth.coldTokens.minted, 'with --quick, no cold token is used twice');
    assert.match(run.stdout, /^key set: one key-set fetch served \d+ requests/m);
    // The tracing row: off, on and 1 % sampled, each driven with no failed request.
    for (const target of ['off', 'on', 'sampled 1 %']) {
      for (const field of ['rps', 'cpuUsPerRequest', 'requests']) assert.ok(Number.isFinite(results.tracing.load[target][field]), `tracing ${target} ${field}`);
    }
    assert.equal(results.tracing.errors, 0, 'no failed request in the tracing row');
    assert.ok(results.tracing.exports > 0, 'the traced targets exported');
    assert.equal(results.targets.length, 8 + 12 + 1 + 2 + 1);
    for (const t of results.targets) assert.deepEqual(Object.keys(t).sort(), ['name', 'pass', 'target', 'value']);
  });

  it('counts instructions per request under callgrind, for mcpmux and the node:http floor (--quick)', { timeout: 400_000 }, () => {
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, [path.join(ROOT, 'dist/test/bench/instructions.js'), '--quick'], { cwd: ROOT, env, encoding: 'utf8', timeout: 380_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    // With --quick's few requests the count is mostly warm-up and can even come out negative:
    // what is checked is that both targets ran under callgrind and were counted.
    const count = (name: string) => Number(new RegExp(`^  ${name} +(-?[\\d,]+)$`, 'm').exec(run.stdout)?.[1]?.replaceAll(',', ''));
    for (const name of ['mcpmux', 'node-floor']) assert.ok(Number.isFinite(count(name)) && count(name) !== 0, `${name}: ${run.stdout}`);
    assert.match(run.stdout, /mcpmux \/ floor: -?\d+\.\d\dx/);
  });
});
