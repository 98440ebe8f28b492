import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultFromError } from '../../../src/probe/result.js';

describe('probe errors as results', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  const cases: [string, unknown, boolean, string][] = [
    ['a timeout is the child failing', undefined, true, 'failure'],
    ['a refused connection is the child failing', errno('ECONNREFUSED'), false, 'failure'],
    ['a reset is the child failing', errno('ECONNRESET'), false, 'failure'],
    ['fetch failed with a cause is the child failing', new TypeError('fetch failed', { cause: errno('ECONNREFUSED') }), false, 'failure'],
    ['an HTTP or protocol error is the child failing', new Error('Error POSTing to endpoint (HTTP 500)'), false, 'failure'],
    ['running out of files is unknown', errno('EMFILE'), false, 'unknown'],
    ['no local port left is unknown', errno('EADDRNOTAVAIL'), false, 'unknown'],
    ['a bug in the prober is unknown', new TypeError('x is not a function'), false, 'unknown'],
  ];
  for (const [name, error, timedOut, outcome] of cases) {
    it(name, () => assert.equal(resultFromError(error, timedOut, 1).outcome, outcome));
  }
});
