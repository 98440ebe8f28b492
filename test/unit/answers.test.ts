import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRefusal, REFUSALS } from '../../src/answers.js';

describe('the catalogue of refusals', () => {
  it('gives each refusal its own code, outside the JSON-RPC reserved range (-32768..-32000), but for the spec\'s own HeaderMismatch', () => {
    const codes = Object.values(REFUSALS).map((r) => r.code);
    assert.equal(new Set(codes).size, codes.length);
    for (const [reason, { code }] of Object.entries(REFUSALS)) {
      if (reason === 'header_mismatch') assert.equal(code, -32020);
      else assert.ok(Number.isInteger(code) && (code > -32000 || code < -32768), String(code));
    }
  });

  it('answers with a client or server error status, never a success', () => {
    for (const [reason, { status }] of Object.entries(REFUSALS)) assert.ok(status >= 400 && status < 600, reason);
  });

  it('keeps its codes stable', () => {
    assert.deepEqual(Object.fromEntries(Object.entries(REFUSALS).map(([reason, r]) => [reason, r.code])), {
      no_route: -31001, bad_request: -31002, forbidden: -31003, unauthorized: -31004, body_too_large: -31005, headers_too_large: -31006,
      not_ready: -31007, busy: -31008, upstream_unreachable: -31009, upstream_timeout: -31010, process_gone: -31011, sessions_full: -31012, internal: -31013, session_gone: -31014, rate_limited: -31015, client_sessions_full: -31016, relay_loop: -31017,
      insufficient_scope: -31018, policy_denied: -31019, auth_unavailable: -31020, header_mismatch: -32020,
    });
  });

  it('describes a refusal as a JSON-RPC error naming its reason, with the request id inside a stream', () => {
    assert.deepEqual(describeRefusal('process_gone', 'gone', undefined, 7), { jsonrpc: '2.0', id: 7, error: { code: -31011, message: 'gone', data: { reason: 'process_gone' } } });
    assert.deepEqual(describeRefusal('busy', 'full', 'echo'), { jsonrpc: '2.0', id: null, error: { code: -31008, message: 'full', data: { reason: 'busy', server: 'echo' } } });
  });
});
