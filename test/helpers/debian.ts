/**
 * Tools a test needs from Debian's packages (tini, later prometheus): installed on first use, so a
 * fresh machine runs the same suite. Needs root, as the CI and dev machines here run.
 */
import { execFileSync, spawnSync } from 'node:child_process';

let updated = false;

/** Returns the path of `command`, installing Debian package `pkg` first when it is missing. */
export function ensureDebianCommand(command: string, pkg: string): string {
  const found = which(command);
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error(`this test needs ${command}: run "apt-get install ${pkg}" as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
    updated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, stdio: 'ignore', timeout: 300_000 });
  const installed = which(command);
  if (!installed) throw new Error(`apt-get installed ${pkg}, but ${command} is still not on PATH`);
  return installed;
}

function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
