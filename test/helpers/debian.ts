/**
 * Tools a test needs from Debian's packages (tini, prometheus, golang-go, …): installed on first
 * use, so a fresh machine runs the same suite. Needs root, as the CI and dev machines here run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let updated = false;

/** Returns the path of `command`, installing Debian package `pkg` first when it is missing. */
export function ensureDebianCommand(command: string, pkg: string): string {
  const found = which(command);
  if (found) return found;
  installDebianPackages([pkg]);
  const installed = which(command);
  if (!installed) throw new Error(`apt-get installed ${pkg}, but ${command} is still not on PATH`);
  return installed;
}

/** Installs the packages whose marker path (a file they install) is missing. */
export function ensureDebianPaths(packages: Record<string, string>): void {
  const missing = Object.entries(packages).filter(([, marker]) => !existsSync(marker)).map(([pkg]) => pkg);
  if (missing.length > 0) installDebianPackages(missing);
}

function installDebianPackages(packages: string[]): void {
  if (process.getuid?.() !== 0) throw new Error(`this test needs Debian packages: run "apt-get install ${packages.join(' ')}" as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Test files run two at a time, and two of them may install at once: apt waits for the other's
  // lock instead of failing at once (it did, on every fresh machine).
  const wait = ['-o', 'DPkg::Lock::Timeout=600', '-o', 'Acquire::Lock::Timeout=600'];
  if (!updated) {
    execFileSync('apt-get', [...wait, 'update', '-qq'], { env, stdio: 'ignore', timeout: 600_000 });
    updated = true;
  }
  execFileSync('apt-get', [...wait, 'install', '-y', '-qq', '--no-install-recommends', ...packages], { env, stdio: 'ignore', timeout: 900_000 });
}

function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
