/**
 * The seed's own case, in Python: deploy/examples/python-fastmcp.yaml's two servers on the
 * Python MCP SDK 2.x as children of mcpmux, called through one port by the Python SDK client,
 * with the legacy handshake and with the SDK's default negotiation (2026-07-28).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { ensurePythonMcp, PYTHON_MCP_SPEC } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const EXAMPLE = path.join(ROOT, 'deploy/examples/python-fastmcp.yaml');
const CLIENT = path.join(ROOT, 'test/fixtures/py_seed_client.py');

interface SeedAnswers {
  [server: string]: { protocol: string; tools: string[]; text: string };
}

describe('the Python seed, on the Python MCP SDK 2.x', () => {
  let mux: Mcpmux;
  let python: string;
  before(async () => {
    python = ensurePythonMcp();
    // The example as a user runs it, with `uv run --with SPEC python SCRIPT` done by a venv made with pip.
    const config = parse(readFileSync(EXAMPLE, 'utf8')) as { servers: Record<string, { command: string; args: string[]; cwd: string }> };
    for (const server of Object.values(config.servers)) {
      const [run, withFlag, spec, interpreter, script] = server.args;
      assert.deepEqual([server.command, run, withFlag, spec, interpreter], ['uv', 'run', '--with', PYTHON_MCP_SPEC, 'python'], 'the example pins the SDK range this test installs');
      server.command = python;
      server.args = [script!];
      server.cwd = path.join(path.dirname(EXAMPLE), server.cwd);
    }
    mux = await startMcpmux(config);
    await mux.waitReady(60_000);
  });
  after(stopAll);

  const callThrough = (mode: 'legacy' | 'default') =>
    JSON.parse(execFileSync(python, [CLIENT, mux.publicUrl, mode], { encoding: 'utf8', timeout: 60_000 })) as SeedAnswers;

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
});
