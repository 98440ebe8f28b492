/** The environment a child process starts with: what it may inherit, its port, what mcpmux adds, and its own `env`. */
import type { ServerConfig } from '../config/schema.js';
import { renderPort } from '../config/expand.js';
import { CHILD_HOST } from './ports.js';

/**
 * What mcpmux adds to a server's processes' environment besides the server's config (tracing's,
 * tracing/child-env.ts): `env` goes under the server's own env, which still wins; `bridge` is for
 * a stdio server's bridge alone, never passed on to the stdio server (bridge/options.ts).
 */
export interface AddedEnv {
  readonly env?: Readonly<Record<string, string>>;
  readonly bridge?: Readonly<Record<string, string>>;
}

/** What mcpmux adds for each server, asked at each spawn. */
export type AddEnv = (server: ServerConfig) => AddedEnv;

/** The allow-listed part of mcpmux's environment, PORT and HOST, what mcpmux adds, then the server's own env ({{port}} rendered). */
export function buildChildEnv(config: Pick<ServerConfig, 'inheritEnv' | 'env'>, port: number, parentEnv: NodeJS.ProcessEnv = process.env, added: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of config.inheritEnv) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.PORT = String(port);
  env.HOST = CHILD_HOST;
  Object.assign(env, added);
  for (const [key, value] of Object.entries(config.env)) env[key] = renderPort(value, port);
  return env;
}
