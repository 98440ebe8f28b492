/**
 * `--watch-config` on a Kubernetes-style ConfigMap mount: the kubelet never writes the file; it
 * writes a new timestamped folder and swaps the `..data` symlink to it. One swap is exactly one
 * reload; a touch without change is none.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const echo = { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT };

describe('watching a ConfigMap-mounted config', () => {
  let mux: Mcpmux;
  let dir: string;
  let version = 0;

  /** What the kubelet's atomic writer does: a new folder, `..data` swapped to it by a rename. */
  const publish = (config: unknown) => {
    version += 1;
    const folder = `..2026_11_29_${version}`;
    mkdirSync(path.join(dir, folder));
    writeFileSync(path.join(dir, folder, 'mcpmux.json'), JSON.stringify(config));
    symlinkSync(folder, path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    if (version > 1) rmSync(path.join(dir, `..2026_11_29_${version - 1}`), { recursive: true });
  };
  const reloads = () => mux.logs.filter((r) => r.msg === 'reload applied' && r.trigger === 'config file changed');

  before(async () => {
    dir = makeTempDir('mcpmux-configmap-');
    publish({ servers: { echo } });
    symlinkSync('..data/mcpmux.json', path.join(dir, 'mcpmux.json'));
    mux = await startMcpmux({ file: path.join(dir, 'mcpmux.json') }, { args: ['--watch-config'] });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  it('reloads exactly once per symlink swap, and starts the server it adds', async () => {
    publish({ servers: { echo, math: echo } });
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'math')?.ready, 'math to be added and ready', 30_000);
    assert.equal(reloads().length, 1);
    const record = mux.logs.find((r) => r.msg === 'reload: server added, starting');
    assert.deepEqual([record?.server, record?.trigger], ['math', 'config file changed']);
  });

  it('does not reload when an update leaves the file as it was', async () => {
    const before = reloads().length;
    const from = mux.logs.length;
    // The same content, published anew: a new folder and a swap, with nothing changed in the file.
    publish({ servers: { echo, math: echo } });
    await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'config file touched, content unchanged: no reload', 'the watch to look at the file');
    assert.equal(reloads().length, before, 'nothing reloaded');
  });
});
