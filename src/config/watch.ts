/**
 * Watches the config file, for `--watch-config`: a changed file is reloaded as SIGHUP would.
 * Works with a Kubernetes ConfigMap volume, where an update swaps the `..data` symlink under the
 * file's name rather than writing the file: the watch is on the folder, and the file is read
 * through its links. When a change is applied (settle.ts): a swap after a quiet moment, a write in
 * place once its content has settled; only new content reloads, so a swap (several events) is
 * exactly one reload, a touch without change is none, and a half-written file is never applied.
 */
import { readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { createSettler, type SettleHandlers, type SettleTiming } from './settle.js';

export interface WatchHandlers extends SettleHandlers {
  onError(error: Error): void;
}

export function watchConfigFile(file: string, handlers: WatchHandlers, timing: Partial<SettleTiming> = {}): () => void {
  const settler = createSettler(() => readText(file), handlers, timing);
  const watcher = watch(path.dirname(file), (_event, name) => settler.notice(name ?? undefined));
  watcher.on('error', (error: Error) => handlers.onError(error));
  return () => {
    settler.stop();
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
