/**
 * Watches the config file, for `--watch-config`: a changed file is reloaded as SIGHUP would.
 * Works with a Kubernetes ConfigMap volume, where an update swaps the `..data` symlink under the
 * file's name rather than writing the file: the watch is on the folder, and after a quiet moment
 * the file is read through its links; only new content reloads, so a swap (several events) is
 * exactly one reload, and a touch without change is none.
 */
import { readFileSync, watch } from 'node:fs';
import path from 'node:path';

/** Events closer together than this are one change (an editor's write, a symlink swap). */
const QUIET_MS = 200;

export function watchConfigFile(file: string, onChange: () => void, onError: (error: Error) => void, onSame: () => void = () => undefined): () => void {
  let last = readText(file);
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const now = readText(file);
    if (now === undefined || now === last) return onSame();
    last = now;
    onChange();
  };
  const watcher = watch(path.dirname(file), () => {
    clearTimeout(timer);
    timer = setTimeout(check, QUIET_MS);
  });
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
