/**
 * Pods on one machine, as a Kubernetes node runs them: each pod is one mcpmux (started as a user
 * starts it, by startMcpmux) in a network namespace of its own, with its own address on a Linux
 * bridge in the root namespace (bridge at .1, pods at .2, .3, …) and its own loopback, where its
 * children listen on 127.0.0.1 as in a real pod. The test, in the root namespace, reaches every
 * pod's public and admin listeners at the pod's address, and so does nginx (helpers/nginx.ts).
 *
 * Where namespaces cannot be made (not root, no `ip`, or MCPMUX_PODS=loopback), the pods are
 * mcpmux processes on distinct loopback addresses 127.A.B.2, .3, … instead (Linux routes all of
 * 127/8 to lo), children still on 127.0.0.1: `network.mode` says which, and `network.fallback`
 * why. The pods then share one port space and one loopback, so a test says which mode it ran.
 *
 * Names carry this process's pid, so two test files never collide; everything made here is
 * removed by close(), and on exit best effort (namespaces and links of dead pids are swept too).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import { memoryOf } from './flood.js';
import { startMcpmux, type LogRecord, type Mcpmux } from './mcpmux.js';
import { scrape } from './metrics.js';
import { descendantsOf, readProc, type ProcInfo } from './procs.js';
import { waitFor } from './wait.js';

export type PodMode = 'netns' | 'loopback';

/** Where a pod is: mcpmux's config is made from it (advertiseAddress, peers). */
export interface PodPlace {
  readonly ip: string;
  readonly port: number;
  /** `ip:port`, where the other pods and nginx reach its public listener. */
  readonly address: string;
  /** The pods' network, as CIDR: every pod's address and the bridge's are in it. */
  readonly subnet: string;
  /**
   * Where a peer pod's connections come from, for `cluster.peers`: the subnet; in loopback mode
   * also 127.0.0.1, the source Linux gives a connection to any 127/8 address.
   */
  readonly peers: readonly string[];
}

export interface PodOptions {
  /** More environment for mcpmux (its session key). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * mcpmux's --log-level: info (the default) logs every request, and this process reads each
   * record; the bench runs with warn, as its nginx logs nothing either. Below info mcpmux writes
   * no `listening` record, so its ports are chosen here.
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface Pod extends PodPlace {
  readonly name: string;
  readonly mux: Mcpmux;
  readonly pid: number;
  /** `http://ip:port`: the pod's public listener, bypassing nginx. */
  readonly url: string;
  readonly adminUrl: string;
  readonly logs: LogRecord[];
  readonly exited: Promise<number | string>;
  metrics(): Promise<string>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** Every process of the pod now: mcpmux and what it started (zombies included). */
  processes(): ProcInfo[];
  /** mcpmux's resident memory, in bytes. */
  rss(): number;
  /** kill -9 of the whole pod, mcpmux first: resolves with the processes it killed once mcpmux has exited. */
  kill(): Promise<ProcInfo[]>;
  /** SIGTERM to mcpmux, as the kubelet sends it: resolves with its exit code (or signal). */
  terminate(): Promise<number | string>;
}

export interface PodNetwork {
  readonly mode: PodMode;
  /** Why the pods are not in namespaces, when they are not. */
  readonly fallback: string | undefined;
  readonly subnet: string;
  /** The bridge's own address (127.A.B.1 in loopback mode): the test can listen there, and every pod reaches it. */
  readonly gateway: string;
  readonly pods: readonly Pod[];
  /** Starts a pod at the next free address, with mcpmux's config made from where it is. */
  startPod(config: (place: PodPlace) => unknown, options?: PodOptions): Promise<Pod>;
  /** Kills every pod left, then removes the namespaces, links and bridge. Safe to call twice. */
  close(): Promise<void>;
}

const PREFIX = `mxp${process.pid}`;
const BRIDGE = `mxb${process.pid}`;
const networks = new Set<{ cleanup(): void }>();
let hooked = false;

/** Makes the pods' network: namespaces on a bridge where this process may, else loopback addresses. */
export function createPodNetwork(): PodNetwork {
  hookExit();
  const forced = process.env.MCPMUX_PODS === 'loopback' ? 'MCPMUX_PODS=loopback asks for it' : undefined;
  const why = forced ?? netnsUnavailable();
  if (why === undefined) {
    sweepDead();
    try {
      return netnsNetwork();
    } catch (error) {
      return loopbackNetwork(`making network namespaces failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return loopbackNetwork(why);
}

/** Why network namespaces cannot be made here, or undefined when they can. */
function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'no `ip` command (iproute2)';
  return undefined;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function ipQuiet(...args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

/** A /24 of 10.77.0.0/16 that no interface or route here uses. */
function freeSubnet(): number {
  const used = spawnSync('sh', ['-c', 'ip -o -4 addr show; ip -4 route show'], { encoding: 'utf8' }).stdout;
  for (let tries = 0; tries < 256; tries++) {
    const third = Math.floor(Math.random() * 256);
    if (!used.includes(`10.77.${third}.`)) return third;
  }
  throw new Error('no free /24 in 10.77.0.0/16');
}

function netnsNetwork(): PodNetwork {
  const third = freeSubnet();
  const base = `10.77.${third}`;
  const gateway = `${base}.1`;
  const namespaces: string[] = [];
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  const removeNetwork = () => {
    for (const ns of namespaces) {
      killAll(netnsPids(ns));
      ipQuiet('link', 'del', `${ns}h`);
      ipQuiet('netns', 'del', ns);
    }
    namespaces.length = 0;
    ipQuiet('link', 'del', BRIDGE);
  };
  try {
    ip('addr', 'add', `${gateway}/24`, 'dev', BRIDGE);
    ip('link', 'set', BRIDGE, 'up');
  } catch (error) {
    removeNetwork();
    throw error;
  }
  let next = 2;
  return makeNetwork({
    mode: 'netns',
    fallback: undefined,
    subnet: `${base}.0/24`,
    gateway,
    removeNetwork,
    place() {
      const index = next++;
      if (index > 254) throw new Error('the pods subnet is full');
      const ns = `${PREFIX}-${index}`;
      const host = `${ns}h`;
      const peer = `${ns}p`;
      namespaces.push(ns);
      ip('netns', 'add', ns);
      ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', ns);
      ip('-n', ns, 'link', 'set', peer, 'name', 'eth0');
      ip('link', 'set', host, 'master', BRIDGE);
      ip('link', 'set', host, 'up');
      ip('-n', ns, 'addr', 'add', `${base}.${index}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // A fresh namespace has every port free: one below the ephemeral range, where the children's
      // ports (from the OS) never are.
      const port = 10_000 + Math.floor(Math.random() * 20_000);
      return {
        name: ns,
        ip: `${base}.${index}`,
        port,
        hosts: { listen: '0.0.0.0', admin: '0.0.0.0' },
        wrapper: ['ip', 'netns', 'exec', ns],
        processes: (pid) => union(netnsPids(ns), descendantsOf(pid).map((p) => p.pid), [pid]),
      };
    },
  });
}

function loopbackNetwork(why: string): PodNetwork {
  const base = `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 256)}`;
  let next = 2;
  return makeNetwork({
    mode: 'loopback',
    fallback: why,
    subnet: `${base}.0/24`,
    gateway: `${base}.1`,
    removeNetwork: () => undefined,
    place() {
      const index = next++;
      const address = `${base}.${index}`;
      return {
        name: `${PREFIX}-lo${index}`,
        ip: address,
        port: 0,
        hosts: { listen: address, admin: address },
        wrapper: [],
        processes: (pid) => union(descendantsOf(pid).map((p) => p.pid), [pid]),
      };
    },
  });
}

interface Slot {
  readonly name: string;
  readonly ip: string;
  /** 0: a free port on the address, found when the pod starts. */
  readonly port: number;
  readonly hosts: { readonly listen: string; readonly admin: string };
  readonly wrapper: readonly string[];
  readonly processes: (pid: number) => number[];
}

interface NetworkParts {
  readonly mode: PodMode;
  readonly fallback: string | undefined;
  readonly subnet: string;
  readonly gateway: string;
  readonly removeNetwork: () => void;
  place(): Slot;
}

function makeNetwork(parts: NetworkParts): PodNetwork {
  const pods: Pod[] = [];
  let closed = false;
  const cleanup = () => {
    for (const pod of pods) killAll(pod.processes().map((p) => p.pid));
    parts.removeNetwork();
  };
  const entry = { cleanup };
  networks.add(entry);
  return {
    mode: parts.mode,
    fallback: parts.fallback,
    subnet: parts.subnet,
    gateway: parts.gateway,
    pods,
    async startPod(config, options = {}) {
      const slot = parts.place();
      const port = slot.port || (await freePortOn(slot.ip));
      const peers = parts.mode === 'loopback' ? [parts.subnet, '127.0.0.1'] : [parts.subnet];
      const place: PodPlace = { ip: slot.ip, port, address: `${slot.ip}:${port}`, subnet: parts.subnet, peers };
      const made = config(place) as Record<string, unknown>;
      const listen = { ...(made.listen as object | undefined), host: slot.hosts.listen, ...(parts.mode === 'loopback' ? { allowedHosts: ['*'] } : {}) };
      const admin = { ...(made.admin as object | undefined), host: slot.hosts.admin };
      const logLevel = options.logLevel ?? 'info';
      const quiet = logLevel === 'warn' || logLevel === 'error';
      // A namespace's ports are all free: the admin listener beside the public one.
      const ports = quiet ? { public: port, admin: slot.port ? port + 1 : await freePortOn(slot.ip) } : undefined;
      const mux = await startMcpmux(
        { ...made, listen, admin },
        { wrapper: slot.wrapper, env: options.env ?? {}, args: ['--port', String(port), '--log-level', logLevel], ...(ports ? { ports } : {}) },
      );
      const adminPort = Number(new URL(mux.adminUrl).port);
      const pid = mux.proc.pid!;
      const adminUrl = `http://${slot.ip}:${adminPort}`;
      const processes = () => slot.processes(pid).map((p) => readProc(p)).filter((p): p is ProcInfo => p !== undefined);
      const pod: Pod = {
        ...place,
        name: slot.name,
        mux,
        pid,
        url: `http://${place.address}`,
        adminUrl,
        logs: mux.logs,
        exited: mux.exited,
        metrics: () => scrape(adminUrl),
        async waitReady(timeoutMs = 20_000) {
          await waitFor(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, `pod ${place.address} to be ready`, timeoutMs);
        },
        processes,
        rss: () => memoryOf(pid).rss,
        async kill() {
          const victims = processes();
          killAll([pid]);
          killAll(victims.map((p) => p.pid));
          await mux.exited;
          return victims;
        },
        async terminate() {
          return mux.stop('SIGTERM');
        },
      };
      pods.push(pod);
      return pod;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(pods.map(async (pod) => {
        if (pod.mux.proc.exitCode !== null || pod.mux.proc.signalCode !== null) return;
        const force = setTimeout(() => pod.mux.proc.kill('SIGKILL'), 15_000);
        await pod.terminate();
        clearTimeout(force);
      }));
      cleanup();
      networks.delete(entry);
    },
  };
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function netnsPids(ns: string): number[] {
  const out = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  return out.split('\n').filter(Boolean).map(Number);
}

function union(...lists: number[][]): number[] {
  return [...new Set(lists.flat())];
}

function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Namespaces and bridges that a test process which died without cleaning up left behind. */
function sweepDead(): void {
  const alive = (pid: number) => readProc(pid) !== undefined;
  const namespaces = (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '').split('\n').map((line) => line.split(' ')[0]!);
  for (const ns of namespaces) {
    const m = /^mxp(\d+)-/.exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    killAll(netnsPids(ns));
    ipQuiet('link', 'del', `${ns}h`);
    ipQuiet('netns', 'del', ns);
  }
  const links = (spawnSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' }).stdout ?? '').matchAll(/^\d+: (mxb(\d+))[:@]/gm);
  for (const [, name, pid] of links) if (!alive(Number(pid))) ipQuiet('link', 'del', name!);
}

/** On exit (or SIGINT/SIGTERM), whatever close() did not get to: pods killed, the network removed. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanupAll = () => {
    for (const network of networks) network.cleanup();
    networks.clear();
  };
  process.once('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanupAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}
