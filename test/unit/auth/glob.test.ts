import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob } from '../../../src/auth/glob.js';

describe('policy globs: * is any run of characters, the rest literal', () => {
  const cases: [string, string, boolean][] = [
    ['add', 'add', true],
    ['add', 'add2', false],
    ['add', 'Add', false],
    ['admin_*', 'admin_', true],
    ['admin_*', 'admin_users', true],
    ['admin_*', 'admin', false],
    ['admin_*', 'xadmin_users', false],
    ['*_write', 'db_write', true],
    ['*_write', 'db_write_x', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['**', 'x', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'abcbc', true],
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*a*a', 'aa', false],
    ['a*a*a', 'aaa', true],
    ['file:///*', 'file:///a/b/c.txt', true],
    ['file:///docs/*.md', 'file:///docs/a/b.md', true],
    ['file:///docs/*.md', 'file:///docs/a.mdx', false],
    ['.', 'a', false],
    ['a.c', 'abc', false],
    ['^read$', '^read$', true],
    ['read|write', 'read', false],
    ['(a+)+$', 'aaaa', false],
    ['[ab]', 'a', false],
    ['?', 'a', false],
    ['a\\*', 'a\\x', true],
  ];
  for (const [glob, name, expected] of cases) {
    it(`${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => assert.equal(compileGlob(glob).test(name), expected));
  }
});
