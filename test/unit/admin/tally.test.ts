import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createTally } from '../../../src/admin/tally.js';

describe('createTally', () => {
  it('hands its counts to prom-client at scrape time, one series per label values', async () => {
    const registry = new Registry();
    const tally = createTally({ name: 'test_total', help: 'h', labelNames: ['server', 'result'], registers: [registry] });
    tally.count('a', 'ok');
    tally.count('a', 'ok');
    tally.count('a', 'bad');
    tally.count('b', 'ok');
    const text = await registry.metrics();
    assert.match(text, /^test_total\{server="a",result="ok"\} 2$/m);
    assert.match(text, /^test_total\{server="a",result="bad"\} 1$/m);
    assert.match(text, /^test_total\{server="b",result="ok"\} 1$/m);
    // A second scrape reads the same counts again, and new ones on top.
    tally.count('b', 'ok');
    assert.match(await registry.metrics(), /^test_total\{server="b",result="ok"\} 2$/m);
  });

  it('counts with one label, and writes nothing before the first count', async () => {
    const registry = new Registry();
    const tally = createTally({ name: 'one_total', help: 'h', labelNames: ['reason'], registers: [registry] });
    assert.doesNotMatch(await registry.metrics(), /^one_total\{/m);
    tally.count('full');
    assert.match(await registry.metrics(), /^one_total\{reason="full"\} 1$/m);
  });
});
