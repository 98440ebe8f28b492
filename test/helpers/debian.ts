/**
 * Tools a test needs from Debian's packages (tini, prometheus, golang-go, …): installed on first
 * use, so a fresh machine runs the same suite. Needs root, as the CI and dev machines here run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let updated = false;

/**
 * Every Debian package the suite (and `npm run bench`) uses, with a file each one installs:
 * test/setup.ts installs the missing ones once, serially, before any test runs.
 */
export const SUITE_PACKAGES: Readonly<Record<string, string>> = {
  'util-linux': '/usr/bin/prlimit',
  tini: '/usr/bin/tini',
  prometheus: '/usr/bin/promtool',
  'nginx-light': '/usr/sbin/nginx',
  valgrind: '/usr/bin/valgrind',
  // A second load generator beside autocannon, confirming the bench's cluster row.
  wrk: '/usr/bin/wrk',
  // Network namespaces and veth pairs: the pods of test/integration/cluster.test.ts.
  iproute2: '/usr/sbin/ip',
  // The chart renderer (test/helm/render.go), used when helm itself is not installed.
  'golang-go': '/usr/bin/go',
  'golang-github-masterminds-sprig-dev': '/usr/share/gocode/src/github.com/Masterminds/sprig/functions.go',
  'golang-gopkg-yaml.v3-dev': '/usr/share/gocode/src/gopkg.in/yaml.v3/yaml.go',
};

/** The chart renderer's packages: not needed where helm itself is installed. */
const RENDERER_PACKAGES = new Set(['golang-go', 'golang-github-masterminds-sprig-dev', 'golang-gopkg-yaml.v3-dev']);

/** The suite's packages that are not installed yet. */
export function missingSuitePackages(): string[] {
  const helm = which('helm') !== undefined;
  return Object.entries(SUITE_PACKAGES)
    .filter(([pkg, marker]) => !existsSync(marker) && !(helm && RENDERER_PACKAGES.has(pkg)))
    .map(([pkg]) => pkg);
}

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

/** The one line that tells a user who is not root what to install. */
export function installAdvice(packages: readonly string[]): string {
  return `the tests need these Debian packages: sudo apt-get install --no-install-recommends ${packages.join(' ')}`;
}

export function installDebianPackages(packages: string[]): void {
  if (process.getuid?.() !== 0) throw new Error(installAdvice(packages));
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
