import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostGuard, hasRepeatedHost, splitHost, type HostGuardConfig } from '../../../src/proxy/host-guard.js';

describe('the Host/Origin guard', () => {
  const cases: [string, HostGuardConfig, Record<string, string>, string][] = [
    ['loopback default: localhost with a port', { host: '127.0.0.1' }, { host: 'localhost:8080' }, 'ok'],
    ['loopback default: 127.0.0.1', { host: '127.0.0.1' }, { host: '127.0.0.1:1' }, 'ok'],
    ['loopback default: [::1]', { host: '::1' }, { host: '[::1]:8080' }, 'ok'],
    ['loopback default: a rebinding name', { host: '127.0.0.1' }, { host: 'evil.example:8080' }, 'Host'],
    ['loopback default: no Host at all', { host: 'localhost' }, {}, 'Host'],
    ['loopback default: a loopback Origin', { host: '127.0.0.1' }, { host: 'localhost', origin: 'http://localhost:3000' }, 'ok'],
    ['loopback default: a foreign Origin', { host: '127.0.0.1' }, { host: 'localhost', origin: 'https://evil.example' }, 'Origin'],
    ['loopback default: Origin null', { host: '127.0.0.1' }, { host: 'localhost', origin: 'null' }, 'Origin'],
    ['wildcard bind, no lists: any Host', { host: '0.0.0.0' }, { host: 'mcp.example.com' }, 'ok'],
    ['wildcard bind, no lists: any Origin', { host: '0.0.0.0' }, { host: 'x', origin: 'https://evil.example' }, 'ok'],
    ['allowedHosts: a name matches any port', { host: '0.0.0.0', allowedHosts: ['mcp.example.com'] }, { host: 'MCP.example.com:443' }, 'ok'],
    ['allowedHosts: name:port matches that port only', { host: '0.0.0.0', allowedHosts: ['mcp.example.com:8080'] }, { host: 'mcp.example.com:9' }, 'Host'],
    ['allowedHosts: *.suffix', { host: '0.0.0.0', allowedHosts: ['*.example.com'] }, { host: 'a.example.com' }, 'ok'],
    ['allowedHosts: *.suffix is not the bare name', { host: '0.0.0.0', allowedHosts: ['*.example.com'] }, { host: 'example.com' }, 'Host'],
    ['allowedHosts: *', { host: '127.0.0.1', allowedHosts: ['*'] }, { host: 'anything' }, 'ok'],
    ['allowedOrigins: exact origin', { host: '0.0.0.0', allowedOrigins: ['https://app.example.com'] }, { host: 'h', origin: 'https://app.example.com' }, 'ok'],
    ['allowedOrigins: other port', { host: '0.0.0.0', allowedOrigins: ['https://app.example.com'] }, { host: 'h', origin: 'https://app.example.com:8443' }, 'Origin'],
    ['allowedOrigins: no Origin header passes', { host: '0.0.0.0', allowedOrigins: ['https://app.example.com'] }, { host: 'h' }, 'ok'],
  ];
  for (const [name, config, headers, expected] of cases) {
    it(name, () => assert.equal(createHostGuard(config)(headers), expected));
  }

  it('splits IPv6 hosts', () => {
    assert.deepEqual(splitHost('[::1]:80'), { name: '[::1]', port: '80' });
    assert.deepEqual(splitHost('[::1]'), { name: '[::1]', port: undefined });
    assert.deepEqual(splitHost('a:1'), { name: 'a', port: '1' });
  });
});

describe('repeated Host lines', () => {
  const cases: [string, string[], boolean][] = [
    ['one Host', ['Host', 'a', 'Accept', '*/*'], false],
    ['no Host', ['Accept', '*/*'], false],
    ['two Host lines, any case', ['Host', 'a', 'Accept', '*/*', 'hOST', 'b'], true],
    ['a header whose name only starts with host', ['Host', 'a', 'Hostname', 'b'], false],
  ];
  for (const [name, raw, expected] of cases) {
    it(name, () => assert.equal(hasRepeatedHost(raw), expected));
  }
});
