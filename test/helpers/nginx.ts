/**
 * A real nginx in front of the pods (helpers/pods.ts), as an ingress without affinity runs it:
 * plain round robin over the pods' addresses (one state for all workers, a shared zone),
 * keep-alive connections upstream, HTTP/1.1, no buffering either way, a long read timeout for SSE.
 * Client connections are not kept alive (see the config: a reload would cut idle ones under a client).
 * Its own prefix, pid file, error log and temp dirs, on a free port on 127.0.0.1.
 *
 * setUpstreams() is the endpoints controller: it rewrites the list and reloads (`nginx -s reload`),
 * and resolves once a fresh connection is served by the new configuration (each configuration
 * answers its own generation at /__generation). Requests in flight on old workers finish there.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianCommand } from './debian.js';
import { makeTempDir } from './paths.js';
import { freePort } from './ports.js';
import { descendantsOf } from './procs.js';
import { waitFor } from './wait.js';

export interface Nginx {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number;
  /** The addresses (`ip:port`) it balances over now. */
  readonly upstreams: readonly string[];
  /** The error log so far (reloads, upstream errors). */
  errorLog(): string;
  /** The access log so far: one record per finished request (a stream's when it ends). */
  accessLog(): NginxRecord[];
  /** Rewrites the upstream list, reloads, and waits until the new configuration serves. */
  setUpstreams(addresses: readonly string[]): Promise<void>;
  /** Stops nginx (fast shutdown) and waits for its master to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** One request as nginx saw it. */
export interface NginxRecord {
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  /** The Mcp-Session-Id the client sent, or '' for none. */
  readonly session: string;
  /** The pods tried, in order (`ip:port`): more than one when a connect failed and nginx went to the next. */
  readonly upstreams: string[];
}

const running = new Set<ChildProcess>();
let hooked = false;

export interface NginxOptions {
  /**
   * For the bench: client connections kept alive (with no cap on their requests, as mcpmux and
   * node:http have none) and no access log. The tests keep neither (see render()).
   */
  readonly bench?: boolean;
}

export async function startNginx(addresses: readonly string[], options: NginxOptions = {}): Promise<Nginx> {
  const binary = ensureDebianCommand('nginx', 'nginx-light');
  hookExit();
  const prefix = makeTempDir('mcpmux-nginx-');
  for (const dir of ['logs', 'tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) mkdirSync(path.join(prefix, dir), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  const errorLog = path.join(prefix, 'logs/error.log');
  const accessLog = path.join(prefix, 'logs/access.log');
  writeFileSync(errorLog, '');
  let generation = 0;
  let upstreams = [...addresses];
  let port = 0;
  const write = () => {
    generation++;
    writeFileSync(conf, render({ prefix, port, generation, upstreams, bench: options.bench ?? false }));
  };

  // A free port may be taken between the check and nginx's bind: then try another.
  let proc: ChildProcess | undefined;
  for (let attempt = 0; attempt < 5 && proc === undefined; attempt++) {
    port = await freePort();
    write();
    const started = spawn(binary, ['-p', prefix, '-c', conf, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<string>((resolve) => started.once('exit', (code, signal) => resolve(`${code ?? signal}`)));
    const up = await Promise.race([
      waitFor(() => serves(port, generation), 'nginx to serve', 10_000).then(() => true),
      exited.then(() => false),
    ]);
    if (up) {
      proc = started;
    } else if (!/Address already in use/.test(stderr + readFileSync(errorLog, 'utf8'))) {
      throw new Error(`nginx did not start:\n${stderr}\n${readFileSync(errorLog, 'utf8')}`);
    }
  }
  if (!proc) throw new Error('nginx found no free port in 5 attempts');
  running.add(proc);
  const master = proc;
  const exited = new Promise<void>((resolve) => {
    if (master.exitCode !== null || master.signalCode !== null) resolve();
    else master.once('exit', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    pid: master.pid!,
    get upstreams() {
      return upstreams;
    },
    errorLog: () => readFileSync(errorLog, 'utf8'),
    accessLog: () => readAccessLog(accessLog),
    async setUpstreams(next) {
      if (next.length === 0) throw new Error('nginx needs at least one upstream server');
      upstreams = [...next];
      write();
      execFileSync(binary, ['-p', prefix, '-c', conf, '-e', errorLog, '-s', 'reload'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      const want = generation;
      await waitFor(() => serves(port, want), `nginx to serve generation ${want} (its reload)`, 10_000);
    },
    async stop() {
      if (master.exitCode === null && master.signalCode === null) master.kill('SIGTERM');
      await exited;
      running.delete(master);
    },
  };
}

/** Whether a fresh connection to nginx is answered by the configuration of `generation`. */
function serves(port: number, generation: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/__generation', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body === String(generation)));
    });
    req.once('error', reject);
  });
}

function render({ prefix, port, generation, upstreams, bench }: { prefix: string; port: number; generation: number; upstreams: readonly string[]; bench: boolean }): string {
  return `
worker_processes 2;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log notice;
events { worker_connections 4096; }
http {
  log_format mcp escape=json '{"method":"$request_method","uri":"$request_uri","status":$status,"session":"$http_mcp_session_id","upstream":"$upstream_addr"}';
  access_log ${bench ? 'off' : `${prefix}/logs/access.log mcp`};
  # No keep-alive towards the clients: a reload's old workers close their idle client connections
  # at once, and a client that has just sent its next request on one sees "other side closed"
  # (a POST is never retried). That race is nginx's, between the client and nginx; towards the
  # pods, where mcpmux's own behaviour is under test, connections are kept alive.
  ${bench ? 'keepalive_requests 1000000;' : 'keepalive_timeout 0;'}
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  upstream pods {
    zone pods 64k;
${upstreams.map((address) => `    server ${address};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location = /__generation { return 200 "${generation}"; }
    location / {
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_connect_timeout 2s;
    }
  }
}
`;
}

function readAccessLog(file: string): NginxRecord[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => {
    const raw = JSON.parse(line) as { method: string; uri: string; status: number; session: string; upstream: string };
    // "$upstream_addr": "a, b" when nginx went on to the next server; "a : b" across an internal redirect.
    return { method: raw.method, uri: raw.uri, status: raw.status, session: raw.session, upstreams: raw.upstream.split(/\s*[,:]\s+/).filter(Boolean) };
  });
}

/** On exit: nginx's master and workers killed, so no nginx outlives the test. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const proc of running) {
      const workers = proc.pid ? descendantsOf(proc.pid) : [];
      proc.kill('SIGKILL');
      for (const worker of workers) {
        try {
          process.kill(worker.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });
}
