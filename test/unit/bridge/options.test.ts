import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRIDGE_DEFAULTS, parseBridgeCommand } from '../../../src/bridge/options.js';
import { UsageError } from '../../../src/errors.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseBridgeCommand(argv, env, '/srv');

describe('mcpmux bridge options', () => {
  it('takes the command after "--" and the defaults', () => {
    const { options } = parse(['--', 'npx', '-y', 'server', '--port', '9']);
    assert.deepEqual(options.command, { command: 'npx', args: ['-y', 'server', '--port', '9'], cwd: '/srv', env: {} });
    assert.equal(options.host, BRIDGE_DEFAULTS.host);
    assert.equal(options.port, BRIDGE_DEFAULTS.port);
    assert.equal(options.sessions, 'isolated');
    assert.equal(options.maxSessions, 32);
  });
  it('reads HOST and PORT from the environment (as mcpmux gives them) and keeps them from the server', () => {
    const { options } = parse(['--', 'srv'], { HOST: '127.0.0.1', PORT: '4321', PATH: '/bin' });
    assert.equal(options.port, 4321);
    assert.deepEqual(options.command.env, { PATH: '/bin' });
  });
  it("takes mcpmux's key for its own endpoints from MCPMUX_BRIDGE_KEY and never gives it to the server", () => {
    const { options } = parse(['--', 'srv'], { MCPMUX_BRIDGE_KEY: 'k3y', PATH: '/bin' });
    assert.equal(options.ownKey, 'k3y');
    assert.deepEqual(options.command.env, { PATH: '/bin' });
    assert.equal(parse(['--', 'srv']).options.ownKey, undefined);
  });
  it('takes mcpmux\'s tracing from MCPMUX_TRACING and never gives it to the server; OTEL_* pass on as the server\'s own', () => {
    const settings = { tracesUrl: 'http://collector:4318/v1/traces', headers: { 'x-api-key': 'k' }, serviceName: 'mcpmux', resourceAttributes: { 'mcp.server.name': 'memory' }, sampler: { parentBased: true, ratio: 1 }, serverEnv: false, queue: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 } };
    const { options, tracing } = parse(['--', 'srv'], { MCPMUX_TRACING: JSON.stringify(settings), OTEL_SERVICE_NAME: 'memory', PATH: '/bin' });
    assert.deepEqual(tracing, { settings, warnings: [] });
    assert.deepEqual(options.command.env, { OTEL_SERVICE_NAME: 'memory', PATH: '/bin' });
    assert.deepEqual(parse(['--', 'srv']).tracing, { settings: undefined, warnings: [] });
  });
  it('takes every option', () => {
    const { options, logLevel } = parse(['--host', '0.0.0.0', '--port', '0', '--path', '/x', '--sessions', 'shared', '--warm', '0', '--max-sessions', '5', '--idle-timeout', '1.5', '--initialize-timeout', '2', '--max-message-bytes', '2048', '--grace', '0',
      '--max-sessions-per-client', '3', '--session-rate', '0.5', '--session-burst', '4', '--trust-client-header', '--log-level', 'debug', '--', 'srv']);
    assert.deepEqual({ ...options, command: undefined }, {
      host: '0.0.0.0', port: 0, path: '/x', sessions: 'shared', warmProcesses: 0, maxSessions: 5, idleTimeoutSeconds: 1.5, initializeTimeoutSeconds: 2, maxMessageBytes: 2048, graceSeconds: 0,
      maxSessionsPerClient: 3, sessionRate: { perSecond: 0.5, burst: 4 }, trustClientHeader: true, ownKey: undefined, command: undefined,
    });
    assert.equal(logLevel, 'debug');
  });
  const bad: [string, string[], RegExp][] = [
    ['no command', ['--port', '1'], /give the stdio server's command after "--"/],
    ['nothing after --', ['--'], /give the stdio server's command/],
    ['an unknown option', ['--colour', 'x', '--', 'srv'], /bridge: Unknown option '--colour'/],
    ['a bad mode', ['--sessions', 'pooled', '--', 'srv'], /--sessions must be isolated or shared, got "pooled"/],
    ['a bad port', ['--port', '70000', '--', 'srv'], /--port must be a whole number from 0 to 65535, got "70000"/],
    ['zero sessions', ['--max-sessions', '0', '--', 'srv'], /--max-sessions must be a whole number from 1/],
    ['a bad timeout', ['--idle-timeout', 'soon', '--', 'srv'], /--idle-timeout must be a number of seconds greater than 0, got "soon"/],
    ['a path without "/"', ['--path', 'mcp', '--', 'srv'], /--path must start with "\/"/],
    ['a bad session rate', ['--session-rate', '0', '--', 'srv'], /--session-rate must be a number of sessions a second greater than 0, got "0"/],
  ];
  for (const [name, argv, message] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => parse(argv), (error: unknown) => error instanceof UsageError && message.test(error.message)));
  }
});
