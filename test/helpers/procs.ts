/** What /proc says about processes: used to prove that no process, orphan or zombie is left. */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  /** R, S, D, Z (zombie), T, … */
  readonly state: string;
  readonly comm: string;
}

export function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid, pgrp] = stat.slice(close + 2).split(' ');
    return { pid, ppid: Number(ppid), pgrp: Number(pgrp), state: state!, comm };
  } catch {
    return undefined;
  }
}

export function listProcs(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p): p is ProcInfo => p !== undefined);
}

/** Every process below `root` (children, grandchildren, …), zombies included. */
export function descendantsOf(root: number): ProcInfo[] {
  const all = listProcs();
  const found: ProcInfo[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const proc of all) {
      if (parents.has(proc.ppid) && !parents.has(proc.pid)) {
        parents.add(proc.pid);
        found.push(proc);
        grew = true;
      }
    }
  }
  return found;
}

/** Processes still in a process group, zombies included. */
export function groupMembers(pgrp: number): ProcInfo[] {
  return listProcs().filter((p) => p.pgrp === pgrp);
}

/** True while the pid exists in /proc, as a zombie too. */
export function exists(pid: number): boolean {
  return readProc(pid) !== undefined;
}
