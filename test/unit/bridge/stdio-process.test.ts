import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../src/bridge/stdio-process.js';

describe('a stdout line as a message', () => {
  const cases: [string, string, boolean][] = [
    ['a request', '{"jsonrpc":"2.0","id":1,"method":"ping"}', true],
    ['a notification', '{"jsonrpc":"2.0","method":"notifications/initialized"}', true],
    ['a response', '{"jsonrpc":"2.0","id":1,"result":{}}', true],
    ['a log line', 'Starting server on stdio...', false],
    ['JSON that is not JSON-RPC', '{"level":"info","msg":"hi"}', false],
    ['the wrong version', '{"jsonrpc":"1.0","id":1,"method":"ping"}', false],
    ['a batch (stdio carries none)', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', false],
    ['a number', '42', false],
    ['null', 'null', false],
  ];
  for (const [name, line, ok] of cases) {
    it(`${ok ? 'takes' : 'refuses'} ${name}`, () => assert.equal(parseMessage(Buffer.from(line)) !== undefined, ok));
  }
});
