/**
 * Memory and CPU of whole process trees, read from /proc at scrape time: wrappers (`sh -c`,
 * `npx`, `uv run`), whatever they started, and processes that lead groups of their own below them
 * (a stdio server's session processes under its bridge) count toward their server.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI Node runs on. */
const CLOCK_TICKS = 100;
const PAGE_SIZE = detectPageSize();

export interface ProcessSample {
  readonly pid: number;
  readonly rssBytes: number;
  readonly cpuSeconds: number;
}

/**
 * One pass over /proc: for each wanted process group, its processes and every descendant of them,
 * in whatever group. Empty on a system without /proc.
 */
export function sampleProcessGroups(pgids: ReadonlySet<number>): Map<number, ProcessSample[]> {
  const groups = new Map<number, ProcessSample[]>();
  if (pgids.size === 0) return groups;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return groups;
  }
  const all = new Map<number, { ppid: number; pgrp: number; sample: ProcessSample }>();
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // the process ended while we looked
    }
    // Fields after "(comm)": 3 state, 4 ppid, 5 pgrp, … 14 utime, 15 stime, … 24 rss (pages).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    all.set(pid, {
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      sample: { pid, rssBytes: Number(fields[21]) * PAGE_SIZE, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS },
    });
  }
  const owners = new Map<number, number | undefined>();
  const ownerOf = (pid: number, depth = 0): number | undefined => {
    if (owners.has(pid)) return owners.get(pid);
    const entry = all.get(pid);
    const owner = !entry ? undefined : pgids.has(entry.pgrp) ? entry.pgrp : entry.ppid > 1 && depth < 64 ? ownerOf(entry.ppid, depth + 1) : undefined;
    owners.set(pid, owner);
    return owner;
  };
  for (const [pid, { sample }] of all) {
    const owner = ownerOf(pid);
    if (owner === undefined) continue;
    const list = groups.get(owner);
    if (list) list.push(sample);
    else groups.set(owner, [sample]);
  }
  return groups;
}

/**
 * Keeps a server's CPU counter monotonic across processes that come and go: the last CPU time
 * seen of a process that has since ended stays in the total.
 */
export class CpuTotal {
  #retired = 0;
  #live = new Map<number, number>();

  /** Folds in the live processes seen now; returns the total CPU seconds ever seen. */
  update(samples: readonly ProcessSample[]): number {
    const next = new Map<number, number>();
    for (const { pid, cpuSeconds } of samples) next.set(pid, cpuSeconds);
    for (const [pid, seconds] of this.#live) if (!next.has(pid)) this.#retired += seconds;
    this.#live = next;
    let total = this.#retired;
    for (const seconds of next.values()) total += seconds;
    return total;
  }
}

/** The page size, from our own RSS as /proc states it in pages and in kB; 4096 if unreadable. */
function detectPageSize(): number {
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]);
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1]);
    const size = Math.round((kb * 1024) / pages / 1024) * 1024;
    return size > 0 ? size : 4096;
  } catch {
    return 4096;
  }
}
