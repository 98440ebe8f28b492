import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitConnectionsToFiles, readOpenFileLimit } from '../../../src/proxy/connections.js';

describe('connections and the open-file limit', () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                20000                files     \n`;
  it('reads the soft limit on open files', () => {
    assert.equal(readOpenFileLimit(limits('1024')), 1024);
    assert.equal(readOpenFileLimit(limits('unlimited')), undefined);
    assert.equal(readOpenFileLimit('nothing here'), undefined);
  });

  const cases: [string, number, number | undefined, number, number][] = [
    ['a limit that holds the cap keeps it', 4096, 20_000, 2, 4096],
    ['1,024 files, 2 servers: two descriptors a connection, after the reserve', 4096, 1024, 2, Math.floor((1024 - 128 - 64) / 2)],
    ['an unknown limit keeps the cap', 4096, undefined, 2, 4096],
    ['a tiny limit still admits one', 4096, 100, 2, 1],
  ];
  for (const [name, max, files, servers, expected] of cases) {
    it(name, () => assert.equal(fitConnectionsToFiles(max, files, servers).fits, expected));
  }
});
