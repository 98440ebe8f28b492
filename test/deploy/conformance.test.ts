/**
 * The MCP conformance suite's server scenarios (`--suite all`) against the reference server,
 * `@modelcontextprotocol/server-everything`: in its own streamableHttp mode directly, and in its
 * stdio mode through mcpmux's bridge. Every scenario that passes directly passes through mcpmux.
 * Many fail in both: the suite expects its own test server's tools and prompts (`test_*`), which
 * the reference server does not have; those are the same failures on both sides.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { ensureConformanceKit, parseScenarios } from '../helpers/conformance.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { ensureNode24 } from '../helpers/node24.js';
import { makeTempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

function runSuite(node24: string, cli: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The suite writes results/ into its working folder.
    const child = spawn(node24, [cli, 'server', '--url', url, '--suite', 'all'], { cwd: makeTempDir('mcpmux-conformance-'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

describe('MCP conformance through the stdio bridge', () => {
  let direct: ChildProcess | undefined;
  after(async () => {
    direct?.kill('SIGTERM');
    await stopAll();
  });

  it('passes every scenario through mcpmux that server-everything passes directly', { timeout: 600_000 }, async (t) => {
    const node24 = ensureNode24();
    const kit = ensureConformanceKit();
    const port = await freePort();
    direct = spawn(process.execPath, [kit.everything, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' }).catch(() => undefined)) !== undefined, 'server-everything to listen', 30_000);
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { everything: { transport: 'stdio', command: process.execPath, args: [kit.everything, 'stdio'] } } });
    await mux.waitReady(60_000);

    const directly = parseScenarios(await runSuite(node24, kit.cli, `http://127.0.0.1:${port}/mcp`));
    const through = parseScenarios(await runSuite(node24, kit.cli, `${mux.publicUrl}/everything/mcp`));
    const passing = (scenarios: Map<string, boolean>) => [...scenarios].filter(([, ok]) => ok).map(([name]) => name);
    t.diagnostic(`directly: ${passing(directly).length} of ${directly.size} scenarios pass; through mcpmux: ${passing(through).length} of ${through.size}`);
    t.diagnostic(`passing only through mcpmux: ${passing(through).filter((name) => !directly.get(name)).join(', ') || 'none'}`);
    assert.ok(directly.size >= 30, `the suite ran (${directly.size} scenarios)`);
    assert.deepEqual([...through.keys()].sort(), [...directly.keys()].sort());
    assert.deepEqual(passing(directly).filter((name) => !through.get(name)), [], 'scenarios that pass directly but not through mcpmux');
    // mcpmux's own DNS-rebinding guard (loopback Host and Origin only, on a loopback listener).
    assert.equal(through.get('dns-rebinding-protection'), true);
  });
});
