/**
 * The watchdog: no child outlives mcpmux, however mcpmux ends, SIGKILL (the OOM killer) included.
 * With spawn.ts, the only file that starts processes.
 *
 * One small POSIX `sh` process, started on the first spawned child, holds the read end of a pipe
 * whose write end only mcpmux holds. mcpmux writes `+PGID` when a child's group is spawned and
 * `-PGID` once that group is gone. When mcpmux ends, any way, the kernel closes its end: the
 * watchdog reads EOF, sends SIGTERM to every group still registered, gives them ~2 s, SIGKILLs
 * what is left, and exits. It ignores INT, TERM, HUP, QUIT and PIPE and leads its own session, so
 * a Ctrl-C or a signal to mcpmux's process group does not end it before mcpmux. It is unref'd:
 * it never keeps mcpmux running. If it dies while mcpmux lives, it is started again and told every
 * registered group. Nothing here throws: without a watchdog, children still run, unprotected.
 *
 * Not chosen: `setpriv --pdeathsig` in front of each child. It would change how a missing command
 * is reported (setpriv's exit code instead of spawn-failed/ENOENT), and it reaches only the
 * direct child, not its grandchildren.
 *
 * Still unprotected:
 * - a grandchild that calls setsid() or setpgid() to leave its group: no registered group holds it;
 * - the short window between a spawn and its registration write;
 * - mcpmux and the watchdog SIGKILLed together (e.g. the whole container, where the runtime kills
 *   everything anyway), or mcpmux dying in the moment before a dead watchdog is started again.
 */
import { execa } from 'execa';

/** The watchdog's $0: how `ps` (and a test) tells it from a server's own `sh`. */
export const WATCHDOG_NAME = 'mcpmux-watchdog';
/** A watchdog that keeps dying is started again at most this often. */
const RESTART_INTERVAL_MS = 1000;

/** Pure sh (dash, busybox), no sed per line: the groups are a space-separated string, " 12 34 ". */
const SCRIPT = [
  "trap '' INT TERM HUP QUIT PIPE",
  "groups=' '",
  'while read -r line; do',
  '  g=${line#?}',
  "  case $g in ''|*[!0-9]*|0|1) continue ;; esac",
  '  case $line in',
  '    +*) case $groups in *" $g "*) ;; *) groups="$groups$g " ;; esac ;;',
  '    -*) case $groups in *" $g "*) groups="${groups%% $g *} ${groups#* $g }" ;; esac ;;',
  '  esac',
  'done',
  'for g in $groups; do kill -TERM -$g 2>/dev/null; done',
  'i=0',
  'while [ $i -lt 20 ]; do',
  "  left=' '",
  '  for g in $groups; do kill -0 -$g 2>/dev/null && left="$left$g "; done',
  '  groups=$left',
  "  [ \"$groups\" = ' ' ] && exit 0",
  '  sleep 0.1',
  '  i=$((i + 1))',
  'done',
  'for g in $groups; do kill -KILL -$g 2>/dev/null; done',
].join('\n');

interface Watchdog {
  readonly pid: number;
  write(text: string): void;
}

const groups = new Set<number>();
let current: Watchdog | undefined;
let lastStartAt = -Infinity;
let restartTimer: NodeJS.Timeout | undefined;

/** Puts a child's process group under the watchdog, starting the watchdog if it is not running. */
export function registerGroup(pgid: number): void {
  if (!Number.isSafeInteger(pgid) || pgid <= 1 || groups.has(pgid)) return;
  groups.add(pgid);
  if (current) current.write(`+${pgid}\n`);
  else startWatchdog();
}

/** Takes a group that is gone off the watchdog's list. */
export function unregisterGroup(pgid: number): void {
  if (groups.delete(pgid)) current?.write(`-${pgid}\n`);
}

function startWatchdog(): void {
  if (current || restartTimer) return;
  const wait = lastStartAt + RESTART_INTERVAL_MS - Date.now();
  if (wait > 0) {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (groups.size > 0) startWatchdog();
    }, wait).unref();
    return;
  }
  lastStartAt = Date.now();
  try {
    const watchdog = launch();
    if (!watchdog) return;
    current = watchdog;
    watchdog.write([...groups].map((pgid) => `+${pgid}\n`).join(''));
  } catch {
    // Not fatal: the children run all the same, without this protection.
  }
}

function launch(): Watchdog | undefined {
  const subprocess = execa('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME], {
    // Its own session: a signal to mcpmux's process group (Ctrl-C) does not reach it.
    detached: true,
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'ignore',
    buffer: false,
    reject: false,
    cleanup: false,
    forceKillAfterDelay: false,
  });
  void Promise.resolve(subprocess).catch(() => undefined);
  const { pid, stdin } = subprocess;
  if (pid === undefined || !stdin) return undefined;
  stdin.on('error', () => undefined);
  // Neither the process nor its pipe keeps mcpmux's event loop alive.
  subprocess.unref();
  (stdin as unknown as { unref?: () => void }).unref?.();
  const watchdog: Watchdog = {
    pid,
    write(text) {
      try {
        if (text && stdin.writable) stdin.write(text);
      } catch {
        // A dead watchdog's pipe: its restart sends every group again.
      }
    },
  };
  subprocess.once('exit', () => {
    stdin.destroy();
    if (current !== watchdog) return;
    current = undefined;
    if (groups.size > 0) startWatchdog();
  });
  return watchdog;
}
