import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequestTarget } from '../../../src/proxy/request-target.js';
import { createPrefixMatcher, stripPrefix } from '../../../src/routing/match.js';

describe('checkRequestTarget', () => {
  const cases: [string, string | { path: string; query: string }][] = [
    ['/math/mcp', { path: '/math/mcp', query: '' }],
    ['/math/mcp?x=1&y=/../', { path: '/math/mcp', query: '?x=1&y=/../' }],
    ['/', { path: '/', query: '' }],
    ['/math/', { path: '/math/', query: '' }],
    ['/a/..b/c.d/...', { path: '/a/..b/c.d/...', query: '' }],
    ['/a/%41%20b', { path: '/a/%41%20b', query: '' }],
    ['/math/../echo/mcp', 'the path holds a "." or ".." segment'],
    ['/math/..', 'the path holds a "." or ".." segment'],
    ['/math/./mcp', 'the path holds a "." or ".." segment'],
    ['/..', 'the path holds a "." or ".." segment'],
    ['/math/%2e%2e/echo', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math/%2E/x', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math%2Fmcp', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math%2fmcp', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math%5cmcp', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math/%00', 'the path holds an encoded "/", "\\", "." or NUL'],
    ['/math\\..\\echo', 'the path holds a backslash'],
    ['/math//mcp', 'the path holds an empty segment ("//")'],
    ['//evil.example/mcp', 'the path holds an empty segment ("//")'],
    ['http://evil.example/math/mcp', 'the request target must be a path starting with "/"'],
    ['*', 'the request target must be a path starting with "/"'],
    ['', 'the request target must be a path starting with "/"'],
  ];
  for (const [target, expected] of cases) {
    it(`${JSON.stringify(target)} -> ${typeof expected === 'string' ? 'refused' : 'accepted'}`, () => {
      const result = checkRequestTarget(target);
      if (typeof expected === 'string') assert.deepEqual(result, { ok: false, reason: expected });
      else assert.deepEqual(result, { ok: true, ...expected });
    });
  }
});

describe('route matching', () => {
  const table = createPrefixMatcher([
    { prefix: '/math', server: 'math' },
    { prefix: '/math/v2', server: 'math2' },
    { prefix: '/echo', server: 'echo' },
  ]);
  const cases: [string, string, [string, string] | undefined][] = [
    ['/math', '', ['math', '/']],
    ['/math/', '', ['math', '/']],
    ['/math/mcp', '?x=1', ['math', '/mcp?x=1']],
    ['/math/v2/mcp', '', ['math2', '/mcp']],
    ['/math/v2', '', ['math2', '/']],
    ['/math/v20/mcp', '', ['math', '/v20/mcp']],
    ['/mathx/mcp', '', undefined],
    ['/mat', '', undefined],
    ['/echo/mcp/', '', ['echo', '/mcp/']],
    ['/', '', undefined],
    ['/ECHO/mcp', '', undefined],
  ];
  for (const [path, query, expected] of cases) {
    it(`${path}${query} -> ${expected ? expected.join(' ') : 'no route'}`, () => {
      const match = table.match(path, query);
      assert.deepEqual(match ? [match.route.server, match.childUrl] : undefined, expected);
    });
  }

  it('a "/" route catches what no other route matches, and passes the path whole', () => {
    const withRoot = createPrefixMatcher([
      { prefix: '/', server: 'root' },
      { prefix: '/math', server: 'math' },
    ]);
    assert.deepEqual(withRoot.match('/mathx/mcp', ''), { route: { prefix: '/', server: 'root' }, childUrl: '/mathx/mcp' });
    assert.equal(withRoot.match('/math/mcp', '')?.route.server, 'math');
  });

  it('stripPrefix matches whole segments only', () => {
    assert.equal(stripPrefix('/a/b', '/a/bc'), undefined);
    assert.equal(stripPrefix('/a/b', '/a/b/c'), '/c');
  });
});
