/** Loopback ports for children: free ones for `port: auto`, and who holds a fixed one. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { PortError } from '../errors.js';
import { CHILD_HOST } from '../routing/endpoint.js';

export { CHILD_HOST };

/** Asks the OS for a port that is free on loopback now. The child binds it moments later. */
export function findFreePort(host = CHILD_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (cause) => reject(new PortError(`no free port on ${host}`, { cause })));
    server.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on the port and it can be bound. */
export function isPortFree(port: number, host = CHILD_HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The process that listens on a TCP port, as far as /proc shows it (Linux; others' fds need root). */
export function findPortHolder(port: number): { pid: number; command: string } | undefined {
  const inodes = new Set([...listeningInodes('/proc/net/tcp', port), ...listeningInodes('/proc/net/tcp6', port)]);
  if (inodes.size === 0) return undefined;
  for (const pid of readDir('/proc').filter((name) => /^\d+$/.test(name))) {
    for (const fd of readDir(`/proc/${pid}/fd`)) {
      const match = /^socket:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/fd/${fd}`));
      if (match && inodes.has(match[1]!)) return { pid: Number(pid), command: readComm(pid) };
    }
  }
  return undefined;
}

/** Why a fixed port cannot be had, for a user: who holds it, when /proc tells. */
export function describePortHolder(port: number): string {
  const holder = findPortHolder(port);
  if (!holder) return `port ${port} is in use`;
  return `port ${port} is held by pid ${holder.pid} (${holder.command}), not a process of this mcpmux: an orphan of an earlier run?`;
}

/** Inodes of the LISTEN sockets (state 0A) on a local port, from a /proc/net/tcp-style table. */
function listeningInodes(table: string, port: number): string[] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (!local || fields[3] !== '0A' || !fields[9]) continue;
    if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && fields[9] !== '0') inodes.push(fields[9]);
  }
  return inodes;
}

function readDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // EACCES, or the process is gone
  }
}

function readLink(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

/** The program's name: its argv[0] without the folder (comm is a thread's name, "MainThread" under Node 24). */
function readComm(pid: string): string {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    if (argv0) return argv0.slice(argv0.lastIndexOf('/') + 1);
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
