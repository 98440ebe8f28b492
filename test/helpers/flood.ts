/** Load that a hostile client makes, bounded in time, against a port on loopback. */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './wait.js';

const STATUS_LINE = 'HTTP/1.1 ';

export interface FloodResult {
  readonly requests: number;
  readonly answered: number;
}

/**
 * `connections` raw connections, each sending `depth` pipelined copies of `request`, reading the
 * answers (counted by status line), and sending the next batch, until `durationMs` has passed.
 */
export async function floodPipelined(port: number, request: string, options: { connections: number; depth: number; durationMs: number }): Promise<FloodResult> {
  const deadline = Date.now() + options.durationMs;
  const batch = request.repeat(options.depth);
  let requests = 0;
  let answered = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let pending = 0;
      let tail = '';
      const send = () => {
        if (Date.now() > deadline || socket.destroyed) return void socket.destroy();
        pending = options.depth;
        requests += options.depth;
        socket.write(batch);
      };
      socket.setEncoding('latin1');
      socket.on('connect', send);
      socket.on('data', (chunk: string) => {
        // A status line split across two chunks is found in the carried tail, which is too short to hold a whole one.
        const text = tail + chunk;
        const seen = text.split(STATUS_LINE).length - 1;
        tail = text.slice(-(STATUS_LINE.length - 1));
        answered += seen;
        pending -= seen;
        if (pending <= 0) send();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      socket.setTimeout(options.durationMs + 10_000, () => socket.destroy());
    });
  await Promise.all(Array.from({ length: options.connections }, one));
  return { requests, answered };
}

/** Resident memory of a process now, and its peak so far, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * NODE_OPTIONS for a process whose live memory collectGarbage measures: a heap snapshot on
 * SIGUSR2, written into `dir`.
 */
export function snapshotOptions(dir: string): string {
  return `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`;
}

/**
 * A full garbage collection in a process started with snapshotOptions(dir): V8 collects all it
 * can before it writes a heap snapshot. Resolves once the snapshot is whole (its JSON closed),
 * and removes it. What is still on the heap after it is what the process keeps; RSS and heap use
 * before it also count garbage that V8 has not yet had a reason to collect.
 */
export async function collectGarbage(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const file = await waitFor(() => {
    const name = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    return name !== undefined && endsClosed(path.join(dir, name)) && path.join(dir, name);
  }, `the heap snapshot of ${pid} in ${dir}`, 30_000);
  rmSync(file, { force: true });
}

/** True when a JSON file's last non-space character closes it. */
function endsClosed(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 16));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.toString('latin1').trimEnd().endsWith('}');
  } finally {
    closeSync(fd);
  }
}
