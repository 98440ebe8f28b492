import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { identifyClient } from '../../../src/proxy/client-identity.js';
import { createAddressMatch } from '../../../src/address-match.js';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('identifyClient', () => {
  const trusted = createAddressMatch(['10.0.0.0/8']);
  const cases: [string, string, string | undefined, string][] = [
    ['an untrusted peer is its own address', '192.0.2.7', undefined, '192.0.2.7'],
    ['an untrusted peer cannot name another client', '192.0.2.7', '198.51.100.1', '192.0.2.7'],
    ['an IPv4-mapped peer is its IPv4 address', '::ffff:192.0.2.7', undefined, '192.0.2.7'],
    ['a trusted proxy names the client it saw', '10.0.0.2', '198.51.100.1', '198.51.100.1'],
    ['trusted hops are skipped, right to left', '10.0.0.2', '198.51.100.1, 10.1.1.1', '198.51.100.1'],
    ['the right-most untrusted entry wins over what a client put before it', '10.0.0.2', '203.0.113.9, 198.51.100.1', '198.51.100.1'],
    ['a trusted proxy without X-Forwarded-For is the client', '10.0.0.2', undefined, '10.0.0.2'],
    ['an all-trusted chain ends at its left-most entry', '10.0.0.2', '10.3.3.3, 10.1.1.1', '10.3.3.3'],
    ['empty entries are skipped', '10.0.0.2', '198.51.100.1, , ', '198.51.100.1'],
  ];
  for (const [name, peer, forwardedFor, expected] of cases) {
    it(name, () => assert.equal(identifyClient(request(peer, forwardedFor), trusted), expected));
  }

  it('reads at most 16 hops of a long trusted chain', () => {
    const chain = ['198.51.100.1', ...Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`)].join(', ');
    assert.equal(identifyClient(request('10.0.0.2', chain), trusted), '10.0.0.25');
  });
});
