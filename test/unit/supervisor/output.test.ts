import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createEvents } from '../../../src/events.js';
import { LineBudget, MAX_LINE_BYTES, readLines, ServerOutput } from '../../../src/supervisor/output.js';
import { waitFor } from '../../helpers/wait.js';

/** Feeds `chunks` through readLines and collects what it hands over. */
async function linesOf(chunks: (string | Buffer)[], budget?: LineBudget): Promise<{ text: string; length: number; truncated: boolean }[]> {
  const stream = new PassThrough();
  const seen: { text: string; length: number; truncated: boolean }[] = [];
  readLines(stream, (line, truncated) => seen.push({ text: line.toString('utf8'), length: line.length, truncated }), budget);
  const ended = new Promise((resolve) => stream.once('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return seen;
}

describe('reading a child output into lines', () => {
  it('splits lines, and drops a trailing CR', async () => {
    assert.deepEqual((await linesOf(['a\nb\r\nc'])).map((l) => l.text), ['a', 'b', 'c']);
  });

  it('joins a line that arrives in pieces', async () => {
    assert.deepEqual((await linesOf(['hel', 'lo wor', 'ld\nnext\n'])).map((l) => l.text), ['hello world', 'next']);
  });

  it('cuts a 51,309-byte line that arrives within one read at 16 KiB', async () => {
    const lines = await linesOf([`${'x'.repeat(51_309)}\nafter\n`]);
    assert.deepEqual(lines.map((l) => [l.length, l.truncated]), [[MAX_LINE_BYTES, true], [5, false]]);
  });

  it('cuts a long line that arrives in many reads at 16 KiB, and drops the rest of it', async () => {
    const lines = await linesOf([...Array.from({ length: 20 }, () => 'y'.repeat(5000)), '\nafter\n']);
    assert.deepEqual(lines.map((l) => [l.length, l.truncated]), [[MAX_LINE_BYTES, true], [5, false]]);
  });

  it('cuts a line exactly at 16 KiB when its start is pending from an earlier read', async () => {
    const lines = await linesOf(['z'.repeat(10_000), `${'z'.repeat(10_000)}\n`]);
    assert.deepEqual(lines.map((l) => [l.length, l.truncated]), [[MAX_LINE_BYTES, true]]);
  });

  it('keeps a line of exactly 16 KiB whole', async () => {
    const lines = await linesOf([`${'w'.repeat(MAX_LINE_BYTES - 1)}\n`]);
    assert.deepEqual(lines.map((l) => [l.length, l.truncated]), [[MAX_LINE_BYTES - 1, false]]);
  });

  it('hands over lines while the budget lasts, and counts the rest', async () => {
    const budget = new LineBudget({ burst: 3, perSecond: 1, now: () => 0 });
    const lines = await linesOf(['1\n2\n', '3\n4\n5\n', '6\n'], budget);
    assert.deepEqual(lines.map((l) => l.text), ['1', '2', '3']);
    assert.equal(budget.takeDropped(), 3);
    assert.equal(budget.takeDropped(), 0, 'the count starts again after it is taken');
  });
});

describe('the budget of lines', () => {
  it('allows a burst, then refills at its rate, never above the burst', () => {
    let now = 0;
    const budget = new LineBudget({ burst: 10, perSecond: 100, now: () => now });
    const takes = (n: number) => Array.from({ length: n }, () => budget.take()).filter(Boolean).length;
    assert.equal(takes(15), 10);
    now += 50; // 5 lines' worth
    assert.equal(takes(10), 5);
    now += 60_000; // a long quiet spell refills to the burst, no further
    assert.equal(takes(30), 10);
    assert.equal(budget.takeDropped(), 5 + 5 + 20);
  });
});

describe("a server's output, shared by its replicas", () => {
  it('keeps reporting dropped lines while any replica runs, after another one ended', async () => {
    const events = createEvents();
    const reported: number[] = [];
    events.on('output-dropped', ({ lines }) => reported.push(lines));
    const output = new ServerOutput('s', events);
    output.startReports();
    output.startReports();
    output.stopReports(); // one replica ended; nothing was dropped yet
    while (output.budget.take()) ;
    for (let i = 0; i < 4; i++) output.budget.take();
    await waitFor(() => reported.length > 0, 'the once-a-second report of the running replica', 3000);
    assert.deepEqual(reported, [5]);
    output.stopReports();
  });
});

