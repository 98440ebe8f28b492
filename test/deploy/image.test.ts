/**
 * The container image, as far as a machine without a container engine allows: the Dockerfile's
 * promises read from the file itself, and its entrypoint run for real as PID 1 of a new PID
 * namespace, under tini, on a read-only root with only /tmp writable.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureDebianCommand } from '../helpers/debian.js';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { descendantsOf } from '../helpers/procs.js';

const dockerfile = readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8');
/** Instructions, continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => line.trim() && !line.trim().startsWith('#'))
  .map((line) => {
    const [keyword, ...rest] = line.trim().split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
  });
const all = (keyword: string) => instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const last = (keyword: string) => all(keyword).at(-1);

describe('the container image', () => {
  after(stopAll);

  it('builds in stages on an official Node 24 slim image, with production dependencies only', () => {
    const nodeImage = /ARG NODE_IMAGE=(\S+)/.exec(dockerfile)?.[1];
    assert.match(nodeImage ?? '', /^node:24(\.\d+)*-\w+-slim$/);
    assert.ok(all('FROM').length >= 3, 'build, deps and runtime stages');
    assert.equal(last('FROM'), '${NODE_IMAGE}');
    assert.ok(all('RUN').some((r) => r.includes('npm ci --omit=dev')));
    const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
    assert.match(dockerignore, /^\*$/m, 'the build context is an allow-list');
    assert.doesNotMatch(dockerignore, /^!(test|node_modules|dist)/m);
  });

  it('runs as a non-root user, stops on SIGTERM, and checks /healthz', () => {
    assert.ok(['node', '1000'].includes(last('USER') ?? ''), `USER ${last('USER')}`);
    assert.equal(last('STOPSIGNAL'), 'SIGTERM');
    assert.match(last('HEALTHCHECK') ?? '', /CMD \[.*\/healthz/);
    assert.deepEqual(JSON.parse(last('CMD')!), [], 'exec-form CMD');
    assert.deepEqual(JSON.parse(last('ENTRYPOINT')!), ['/usr/bin/tini', '--', 'node', '/app/dist/src/main.js']);
  });

  it('runs its entrypoint as PID 1 under tini on a read-only root: it serves, and stops cleanly on SIGTERM', async () => {
    const unshare = ensureDebianCommand('unshare', 'util-linux');
    const tini = ensureDebianCommand('tini', 'tini');
    // The image's own command line and config. /app, its WORKDIR, is this checkout, bound at
    // /srv/app inside a private mount namespace: the checkout may itself live under /tmp, which
    // the container gets as a fresh tmpfs.
    const APP = '/srv/app';
    const toImage = (text: string) => text.replaceAll(/(?<![\w.-])\/app\b/g, APP);
    const entrypoint = (JSON.parse(last('ENTRYPOINT')!) as string[]).map(toImage).map((arg) => (arg === '/usr/bin/tini' ? tini : arg === 'node' ? process.execPath : arg));
    const imageConfig = toImage(readFileSync(path.join(ROOT, 'deploy/docker/mcpmux.yaml'), 'utf8')).replace('host: 0.0.0.0, port: 8080', 'host: 127.0.0.1, port: 8080');
    writeFileSync(path.join(ROOT, 'dist/test/image-config.yaml'), imageConfig);
    const container = [
      'mount --make-rprivate /',
      'mount -t tmpfs tmpfs /srv && mkdir /srv/app && mount --bind "$0" /srv/app',
      'mount -o remount,bind,ro / && mount -o remount,bind,ro /srv/app',
      'mount -t tmpfs tmpfs /tmp',
      'exec "$@"',
    ].join(' && ');
    const mux = await startMcpmux(
      { file: `${APP}/dist/test/image-config.yaml` },
      { wrapper: [unshare, '--mount', '--pid', '--fork', '--mount-proc', 'sh', '-c', container, ROOT], entrypoint, configInEnv: true },
    );
    await mux.waitReady();
    const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'from the image' } })), 'Echo: from the image');
    await client.close();
    const pid1 = descendantsOf(mux.proc.pid!).find((p) => p.ppid === mux.proc.pid)!;
    assert.equal(pid1.comm, 'tini');
    process.kill(pid1.pid, 'SIGTERM');
    assert.equal(await mux.exited, 0);
    assert.ok(mux.logs.some((r) => r.step === 'stopped'));
    assert.deepEqual(descendantsOf(mux.proc.pid!), []);
  });
});
