/** The command line as a user meets it: `mcpmux check`, config errors, usage errors, exit codes. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { describe, it } from 'node:test';
import { writeConfig } from '../helpers/mcpmux.js';
import { DEFAULT_CONFIG, MAIN, ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

function mcpmux(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mcpmux check', () => {
  it('prints the plan of a valid config and exits 0', () => {
    const { code, stdout } = mcpmux(['check', '--config', DEFAULT_CONFIG]);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}echo {2}\/echo {2}port auto {2}node dist\/servers\/echo\/main\.js/m);
    assert.match(stdout, /^ {2}math {2}\/math {2}port auto {2}node dist\/servers\/math\/main\.js/m);
    assert.match(stdout, /config is valid/);
  });

  it('names a server\'s replicas in the plan', () => {
    const file = writeConfig({ servers: { search: { command: 'node', args: ['search.js'], replicas: 3 } } });
    const { code, stdout } = mcpmux(['check', '--config', file]);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}search {2}\/search {2}port auto, 3 replicas {2}node search\.js/m);
  });

  it("says who may call each route, and reports a bad CEL rule and a missing publicUrl as path: message", () => {
    const policy = { scopes: ['math:read'], tools: { add: { scopes: ['math:write'] }, 'admin_*': { when: 'claims.groups.exists(g, g == "ops")' } } };
    const good = writeConfig({ listen: { publicUrl: 'https://mcp.example.com' }, auth: { oauth: { issuer: 'https://idp.example.com' } }, servers: { math: { command: 'node', policy }, open: { command: 'node', auth: 'none' } } });
    const ok = mcpmux(['check', '--config', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ {2}math .*\n {4}auth: oauth: issuer https:\/\/idp\.example\.com, audience https:\/\/mcp\.example\.com\/math; policy: scopes \[math:read\], 2 rules$/m);
    assert.doesNotMatch(ok.stdout, /^ {2}open .*\n {4}auth/m);
    const bad = writeConfig({ auth: { oauth: { issuer: 'https://idp.example.com' } }, servers: { math: { command: 'node', policy: { tools: { 'admin_*': { when: 'claims.groups.exists(g, g ==' } } } } } });
    const refused = mcpmux(['check', '--config', bad]);
    assert.equal(refused.code, 2);
    const lines = refused.stderr.trim().split('\n');
    assert.equal(lines.length, 2, refused.stderr);
    assert.match(lines[0]!, /^listen\.publicUrl: is required once a route uses auth\.oauth \(math\)/);
    assert.match(lines[1]!, /^servers\.math\.policy\.tools\.admin_\*\.when: .*\(at 1:\d+\)$/);
  });

  it('lists every problem as path: message and exits 2', () => {
    const file = writeConfig(
      [
        'listen: { port: 99999 }',
        'servers:',
        '  math: { command: node, prefix: math, colour: blue }',
        '  calc: { command: node, prefix: /echo }',
        '  echo: { args: [x] }',
      ].join('\n'),
      'bad.yaml',
    );
    const { code, stdout, stderr } = mcpmux(['check', '--config', file]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.deepEqual(stderr.trim().split('\n'), [
      'listen.port: must be at most 65535, got number 99999',
      'servers.math.prefix: must start with "/"',
      'servers.math.colour: unknown key',
      'servers.echo.command: is required',
    ]);
  });

  it('reports duplicate prefixes once the schema holds', () => {
    const file = writeConfig({ servers: { a: { command: 'x', prefix: '/p' }, b: { command: 'y', prefix: '/p' } } });
    const { code, stderr } = mcpmux(['check', '--config', file]);
    assert.equal(code, 2);
    assert.equal(stderr.trim(), 'servers.b.prefix: "/p" is already the prefix of server a');
  });

  it('finds the config through $MCPMUX_CONFIG', () => {
    const file = writeConfig({ servers: { solo: { command: 'x' } } });
    const { code, stdout } = mcpmux(['check'], { MCPMUX_CONFIG: file });
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}solo {2}\/solo /m);
  });

  it('says what is wrong with a config file that cannot be read', () => {
    const { code, stderr } = mcpmux(['check', '--config', '/nonexistent/mcpmux.yaml']);
    assert.equal(code, 2);
    assert.equal(stderr.trim(), '/nonexistent/mcpmux.yaml: cannot read the config file: no such file');
  });
});

describe('mcpmux usage and fatal errors', () => {
  it('exits 2 on an unknown flag or command, with the usage', () => {
    for (const args of [['--nope'], ['start'], ['--port', 'abc']]) {
      const { code, stderr } = mcpmux(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /Usage:/);
    }
  });

  it('exits 1 when a listener cannot bind, and starts no child', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const file = writeConfig({ listen: { host: '127.0.0.1', port }, servers: { a: { command: process.execPath, args: ['-e', 'setInterval(()=>{},1000)'] } } });
    const { code, stdout } = mcpmux(['--config', file, '--admin-port', '0']);
    blocker.close();
    assert.equal(code, 1);
    assert.match(stdout, /"level":"fatal".*the public listener could not bind/);
    assert.doesNotMatch(stdout, /process started/);
  });

  it('writes human-readable lines with --log-format pretty', async () => {
    const file = writeConfig({ listen: { host: '127.0.0.1' }, servers: { a: { command: process.execPath, args: ['-e', 'setInterval(()=>{},1000)'] } } });
    const child = spawn(process.execPath, [MAIN, '--config', file, '--port', '0', '--admin-port', '0', '--log-format', 'pretty'], { cwd: ROOT });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    await waitFor(() => text.includes('process started'), 'a pretty "process started" line');
    child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    assert.match(text, /INFO.*listening/);
    assert.doesNotMatch(text, /^\{"level"/m, 'no JSON lines');
  });
});
