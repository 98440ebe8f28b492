/** The environment a child process starts with: what it may inherit, its port, and its own `env`. */
import type { ServerConfig } from '../config/schema.js';
import { renderPort } from '../config/expand.js';
import { CHILD_HOST } from './ports.js';

/** The allow-listed part of mcpmux's environment, PORT and HOST, then the server's own env ({{port}} rendered). */
export function buildChildEnv(config: Pick<ServerConfig, 'inheritEnv' | 'env'>, port: number, parentEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of config.inheritEnv) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.PORT = String(port);
  env.HOST = CHILD_HOST;
  for (const [key, value] of Object.entries(config.env)) env[key] = renderPort(value, port);
  return env;
}
