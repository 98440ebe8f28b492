/**
 * Where the control socket lives, and whether a path is safe for it, on both of its sides: mcpmux
 * binds it, `mcpmux rollout` and `mcpmux reload` connect to it. No other user may be able to
 * put something there, or take our socket away: every directory from `/` down is owned by us or
 * root, and the socket's own directory, if group or others can write it, must be sticky (/tmp's
 * rule). A writable directory further up is allowed: a Kubernetes emptyDir (the chart's /tmp) is
 * 0777 and not sticky, and whoever renames a directory of ours there and puts their own in its
 * place is caught by the owner check of the directory that holds the socket. What is at the path is looked at with lstat and never followed: mcpmux binds only where
 * nothing is, replaces only a stale socket of its own, and the CLI talks only to a socket of its
 * own user. Every verdict is a value naming the path and its owner.
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Its name in its directory. */
const SOCKET_NAME = 'control.sock';

/**
 * The default control socket, in a directory only mcpmux's user can write: `$XDG_RUNTIME_DIR/mcpmux/`
 * (a user's runtime dir), else `/run/mcpmux/` for root, else `<tmpdir>/mcpmux-<uid>/`. Pure: the
 * CLI and the server compute it alike.
 */
export function defaultControlSocket(env: NodeJS.ProcessEnv, uid: number, tmpdir: string): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'mcpmux', SOCKET_NAME);
  if (uid === 0) return path.join('/run/mcpmux', SOCKET_NAME);
  return path.join(tmpdir, `mcpmux-${uid}`, SOCKET_NAME);
}

/** Safe, or why not; `missing` when a part of the path does not exist (nothing to talk to, no attack). */
export type PathVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly missing?: boolean };

const OK: PathVerdict = { ok: true };

/**
 * mcpmux's own directory, the default socket's: made with mode 0700 if missing, then it must be
 * a directory (not a symlink), owned by `euid`, and writable by no group nor others. Its parents
 * must pass checkDirectories first.
 */
export function prepareOwnDirectory(dir: string, euid: number): PathVerdict {
  // Its parent may be writable by others (a Kubernetes emptyDir is 0777): its own mode and owner keep them out.
  const parents = checkDirectories(path.dirname(dir), euid, { holdsSocket: false });
  if (!parents.ok) return parents;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return { ok: false, reason: `${dir} cannot be made (${(error as NodeJS.ErrnoException).code})` };
  }
  const stats = lstatSync(dir);
  if (stats.isSymbolicLink()) return { ok: false, reason: `${dir} is a symlink (to ${readlinkSync(dir)}) owned by ${describeUser(stats.uid)}, not a directory of mcpmux's own` };
  if (!stats.isDirectory()) return { ok: false, reason: `${dir} is not a directory` };
  if (stats.uid !== euid) return { ok: false, reason: `${dir} is owned by ${describeUser(stats.uid)}, not by ${describeUser(euid)}` };
  if ((stats.mode & 0o022) !== 0) return { ok: false, reason: `${dir} is writable by ${writers(stats.mode)} (mode ${octal(stats.mode)}); only its owner may write it` };
  return OK;
}

/**
 * Every directory from `/` down to `dir`: each owned by `euid` or root, and `dir` itself writable
 * by group or others only when sticky. A symlink on the way must be owned by `euid` or root too,
 * and the directories it leads to are checked as well.
 */
export function checkDirectories(dir: string, euid: number, options: { readonly holdsSocket: boolean } = { holdsSocket: true }): PathVerdict {
  const resolved = path.resolve(dir);
  for (const part of ancestors(resolved)) {
    let stats: Stats;
    try {
      stats = lstatSync(part);
    } catch (error) {
      return missing(part, error);
    }
    if (stats.isSymbolicLink()) {
      if (stats.uid !== euid && stats.uid !== 0) return { ok: false, reason: `${part} is a symlink owned by ${describeUser(stats.uid)}, not by ${selfOrRoot(euid)}` };
    } else {
      const problem = judgeDirectory(part, stats, euid, options.holdsSocket && part === resolved);
      if (problem) return { ok: false, reason: problem };
    }
  }
  let real: string;
  try {
    real = realpathSync(resolved);
  } catch (error) {
    return missing(resolved, error);
  }
  if (real === resolved) return OK;
  for (const part of ancestors(real)) {
    const problem = judgeDirectory(`${part} (where ${resolved} leads)`, statSync(part), euid, options.holdsSocket && part === real);
    if (problem) return { ok: false, reason: problem };
  }
  return OK;
}

/** What is at the socket's path, seen with lstat. */
export type SocketEntry =
  | { readonly kind: 'absent' }
  | { readonly kind: 'own-socket' }
  | { readonly kind: 'foreign'; readonly reason: string };

/** Nothing; a socket of `euid`'s own; or something not to be touched: a symlink, not a socket, another user's. */
export function inspectSocketEntry(socketPath: string, euid: number): SocketEntry {
  let stats: Stats;
  try {
    stats = lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'foreign', reason: `${socketPath} cannot be looked at (${(error as NodeJS.ErrnoException).code})` };
  }
  const owner = describeUser(stats.uid);
  if (stats.isSymbolicLink()) return { kind: 'foreign', reason: `${socketPath} is a symlink (to ${readlinkSync(socketPath)}) owned by ${owner}, not a socket` };
  if (!stats.isSocket()) return { kind: 'foreign', reason: `${socketPath} is not a socket but a ${kindOf(stats)}, owned by ${owner}` };
  if (stats.uid !== euid) return { kind: 'foreign', reason: `${socketPath} is a socket owned by ${owner}, not by ${describeUser(euid)}` };
  return { kind: 'own-socket' };
}

/**
 * Whether mcpmux may bind `socketPath`: its directories safe (its own directory made, with
 * `ownDirectory`), and nothing there but, at most, a stale socket of its own, which is removed.
 * A live socket (another mcpmux), a symlink, anything else or another user's is left alone.
 */
export async function claimSocketPath(socketPath: string, euid: number, options: { readonly ownDirectory: boolean }): Promise<PathVerdict> {
  const dir = path.dirname(socketPath);
  const directories = options.ownDirectory ? prepareOwnDirectory(dir, euid) : checkDirectories(dir, euid);
  if (!directories.ok) return directories;
  const entry = inspectSocketEntry(socketPath, euid);
  if (entry.kind === 'foreign') return { ok: false, reason: entry.reason };
  if (entry.kind === 'own-socket') {
    if (await isListening(socketPath)) return { ok: false, reason: `another process of ${describeUser(euid)} (another mcpmux?) listens on ${socketPath}; give this one its own --control-socket` };
    unlinkSync(socketPath);
  }
  return OK;
}

/** Whether `mcpmux rollout` and `mcpmux reload` may talk to `socketPath`: its directories safe, and a socket of `euid`'s own. */
export function checkSocketToConnect(socketPath: string, euid: number): PathVerdict {
  const directories = checkDirectories(path.dirname(socketPath), euid);
  if (!directories.ok) return directories;
  const entry = inspectSocketEntry(socketPath, euid);
  if (entry.kind === 'absent') return { ok: false, missing: true, reason: `nothing is at ${socketPath}` };
  return entry.kind === 'foreign' ? { ok: false, reason: entry.reason } : OK;
}

/** `nobody (uid 65534)`, or `uid 1234` when the passwd file does not name it. */
export function describeUser(uid: number): string {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No passwd file (a scratch image): the number alone.
  }
  const name = passwd.split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(uid))?.[0];
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

/** Why a directory is unsafe, or undefined when it is safe; `holdsSocket`: the socket's own directory, whose writers matter. */
function judgeDirectory(where: string, stats: Stats, euid: number, holdsSocket: boolean): string | undefined {
  if (!stats.isDirectory()) return `${where} is not a directory`;
  if (stats.uid !== euid && stats.uid !== 0) return `${where} is owned by ${describeUser(stats.uid)}, not by ${selfOrRoot(euid)}`;
  if (holdsSocket && (stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0) return `${where} is writable by ${writers(stats.mode)} and not sticky (mode ${octal(stats.mode)})`;
  return undefined;
}

function selfOrRoot(euid: number): string {
  return euid === 0 ? describeUser(0) : `${describeUser(euid)} or root`;
}

/** `/`, `/a`, `/a/b` for `/a/b`. */
function ancestors(absolute: string): string[] {
  const parts = absolute.split(path.sep).filter(Boolean);
  return [path.sep, ...parts.map((_, i) => path.sep + parts.slice(0, i + 1).join(path.sep))];
}

function missing(where: string, error: unknown): PathVerdict {
  const code = (error as NodeJS.ErrnoException).code;
  return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: `${where} cannot be looked at (${code})` };
}

function writers(mode: number): string {
  return (mode & 0o020) !== 0 && (mode & 0o002) !== 0 ? 'group and others' : (mode & 0o020) !== 0 ? 'its group' : 'others';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'regular file';
  if (stats.isFIFO()) return 'fifo';
  return 'device';
}

/** Whether something accepts on our own socket: only ever asked of a socket owned by our user. */
function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
