/**
 * The seed's own case, in Python: the two servers on the Python MCP SDK 2.x as children of
 * mcpmux, called through one port by the Python SDK client, with the legacy handshake and with the
 * SDK's default negotiation (2026-07-28). Both Python examples, as they ship:
 * deploy/examples/python-fastmcp.yaml (the SDK's own server) and python-fastapi.yaml (the
 * report's FastAPI stack, one app per process), each with `uv run --with …` done by a pip venv.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { ensurePythonVenv, withoutUv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const CLIENT = path.join(ROOT, 'test/fixtures/py_seed_client.py');

interface SeedAnswers {
  [server: string]: { protocol: string; tools: string[]; text: string };
}

/** Starts an example from deploy/examples with its `uv run` commands taken from the test venv. */
async function startExample(name: string, bin: string): Promise<Mcpmux> {
  const file = path.join(ROOT, 'deploy/examples', name);
  const config = parse(readFileSync(file, 'utf8')) as { servers: Record<string, { command: string; args: string[]; cwd: string }> };
  for (const server of Object.values(config.servers)) {
    Object.assign(server, withoutUv(server, bin));
    server.cwd = path.join(path.dirname(file), server.cwd);
  }
  const mux = await startMcpmux(config);
  await mux.waitReady(60_000);
  return mux;
}

for (const example of ['python-fastmcp.yaml', 'python-fastapi.yaml']) {
  describe(`the Python seed, on the Python MCP SDK 2.x: ${example}`, () => {
    let mux: Mcpmux;
    let bin: string;
    before(async () => {
      bin = ensurePythonVenv();
      mux = await startExample(example, bin);
    });
    after(stopAll);

    const callThrough = (mode: 'legacy' | 'default') =>
      JSON.parse(execFileSync(path.join(bin, 'python'), [CLIENT, mux.publicUrl, mode], { encoding: 'utf8', timeout: 60_000 })) as SeedAnswers;

    it('answers both servers through one port with the legacy handshake (ClientSession over streamable_http_client)', () => {
      const answers = callThrough('legacy');
      assert.deepEqual(answers.echo!.tools, ['echo']);
      assert.equal(answers.echo!.text, 'Echo: from python');
      assert.deepEqual(answers.math!.tools, ['add_two']);
      assert.equal(answers.math!.text, '5');
      assert.notEqual(answers.echo!.protocol, '2026-07-28', 'the handshake negotiates an initialize-era revision');
    });

    it("answers both servers through one port with the SDK's default negotiation, on 2026-07-28", () => {
      const answers = callThrough('default');
      assert.equal(answers.echo!.text, 'Echo: from python');
      assert.equal(answers.math!.text, '5');
      assert.equal(answers.echo!.protocol, '2026-07-28');
      assert.equal(answers.math!.protocol, '2026-07-28');
    });

    it('never answers with a redirect', async () => {
      const records = () => mux.logs.filter((r) => r.msg === 'request' && (r.server === 'echo' || r.server === 'math'));
      // The calls above ran synchronously; their access-log records come in after them.
      await waitFor(() => ['echo', 'math'].every((server) => records().filter((r) => r.server === server && r.method === 'POST').length >= 4), 'the access-log records of both runs');
      const statuses = records().map((r) => r.status as number);
      assert.deepEqual(statuses.filter((s) => s >= 300 && s < 400), [], JSON.stringify(statuses));
    });

    if (example === 'python-fastapi.yaml') {
      it("serves the FastAPI app's own routes beside /mcp, each app in its own process", async () => {
        for (const server of ['echo', 'math']) {
          const res = await fetch(`${mux.publicUrl}/${server}/healthz`);
          assert.equal(res.status, 200);
          assert.deepEqual(await res.json(), { status: 'ok', server: server === 'echo' ? 'Echo' : 'Math' });
        }
        // uvicorn's access log, passed through as the server's output: the liveness probe calls the app's route.
        for (const server of ['echo', 'math']) {
          await mux.waitForLog((r) => r.server === server && r.stream !== undefined && /"GET \/healthz HTTP\/1\.1" 200/.test(String(r.msg)), `${server}'s liveness probe on /healthz`);
        }
        const { servers } = await mux.status();
        assert.equal(new Set(servers.map((s) => s.pid)).size, 2);
        assert.ok(servers.every((s) => s.ready && s.restarts === 0), JSON.stringify(servers));
      });
    }
  });
}
