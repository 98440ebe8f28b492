import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnknownPlaceholders, renderPort } from '../../../src/config/expand.js';

describe('{{port}}', () => {
  const cases: [string, string][] = [
    ['--port={{port}}', '--port=4242'],
    ['{{ port }}', '4242'],
    ['http://127.0.0.1:{{port}}/mcp', 'http://127.0.0.1:4242/mcp'],
    ['no placeholder', 'no placeholder'],
  ];
  for (const [template, expected] of cases) it(`${template} -> ${expected}`, () => assert.equal(renderPort(template, 4242), expected));

  it('names unknown placeholders', () => {
    assert.deepEqual(findUnknownPlaceholders('{{port}} {{host}} {{ prt }}'), ['{{host}}', '{{ prt }}']);
  });
});
