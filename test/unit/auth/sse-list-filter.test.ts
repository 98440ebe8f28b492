import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createSseListFilter, SseListFilter, type DroppedEvent, type SseListFilterOptions } from '../../../src/auth/sse-list-filter.js';

const allow = (name: string) => !name.startsWith('admin');
const options = (extra: Partial<SseListFilterOptions> = {}): SseListFilterOptions => ({ request: { id: 1, method: 'tools/list' }, allow, maxEventBytes: 64 * 1024, ...extra });

/** Runs a stream through a filter, in the chunks given. */
function run(chunks: readonly (string | Buffer)[], opts: SseListFilterOptions = options()): string {
  const filter = new SseListFilter(opts);
  const out = chunks.flatMap((chunk) => filter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
  return Buffer.concat([...out, ...filter.end()]).toString();
}

/** Splits as bytes, so that a split inside a multibyte character stays a split of bytes. */
function runBytes(text: string, at: number[], opts?: SseListFilterOptions): string {
  const bytes = Buffer.from(text);
  const cuts = [0, ...at, bytes.length];
  return run(cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end)), opts);
}

const tools = (names: string[], extra: Record<string, unknown> = {}, id: unknown = 1) => JSON.stringify({ jsonrpc: '2.0', id, result: { tools: names.map((name) => ({ name })), ...extra } });
const progress = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });

describe('SSE list answers', () => {
  const cases: [string, string, string][] = [
    ['rewrites the answer', `event: message\ndata: ${tools(['admin', 'add'])}\n\n`, `event: message\ndata: ${tools(['add'])}\n\n`],
    ['keeps nextCursor', `data: ${tools(['admin', 'b'], { nextCursor: 'p2' })}\n\n`, `data: ${tools(['b'], { nextCursor: 'p2' })}\n\n`],
    ['joins multi-line data and writes one data line', `data: {"jsonrpc":"2.0","id":1,\ndata: "result":{"tools":[{"name":"admin"},{"name":"x"}]}}\n\n`, `data: ${tools(['x'])}\n\n`],
    ['keeps id, event, retry and comments in place', `: hi\nid: 42\nevent: message\ndata: ${tools(['admin'])}\nretry: 10\n: bye\n\n`, `: hi\nid: 42\nevent: message\ndata: ${tools([])}\nretry: 10\n: bye\n\n`],
    ['keeps CRLF line ends', `id: 9\r\ndata: ${tools(['admin', 'a'])}\r\n\r\n`, `id: 9\r\ndata: ${tools(['a'])}\r\n\r\n`],
    ['keeps CR line ends', `id: 9\rdata: ${tools(['admin', 'a'])}\r\r`, `id: 9\rdata: ${tools(['a'])}\r\r`],
    ['reads data without a space after the colon', `data:${tools(['admin', 'a'])}\n\n`, `data: ${tools(['a'])}\n\n`],
    ['passes notifications and requests before it, then rewrites it', `data: ${progress}\n\ndata: {"jsonrpc":"2.0","id":1,"method":"roots/list"}\n\ndata: ${tools(['admin'])}\n\n`, `data: ${progress}\n\ndata: {"jsonrpc":"2.0","id":1,"method":"roots/list"}\n\ndata: ${tools([])}\n\n`],
    ['passes everything after it as it comes', `data: ${tools(['admin'])}\n\ndata: ${tools(['admin'])}\n\n: x\ngarbage`, `data: ${tools([])}\n\ndata: ${tools(['admin'])}\n\n: x\ngarbage`],
    ['passes the answer to another id', `data: ${tools(['admin'], {}, 2)}\n\n`, `data: ${tools(['admin'], {}, 2)}\n\n`],
    ['passes an error answer', `data: {"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}\n\n`, `data: {"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}\n\n`],
    ['passes an answer with nothing to leave out, in its own spacing', `data: { "jsonrpc": "2.0", "id": 1, "result": { "tools": [] } }\n\n`, `data: { "jsonrpc": "2.0", "id": 1, "result": { "tools": [] } }\n\n`],
    ['passes data that is not JSON', `data: {"id":1,\n\n`, `data: {"id":1,\n\n`],
    ['reads a field named data only, not datax', `datax: ${tools(['admin'])}\n\n`, `datax: ${tools(['admin'])}\n\n`],
    ['filters an answer the stream ends inside of', `data: ${tools(['admin', 'a'])}\n`, `data: ${tools(['a'])}\n`],
    ['filters an answer after a BOM', `\uFEFFdata: ${tools(['admin', 'a'])}\n\n`, `\uFEFFdata: ${tools(['a'])}\n\n`],
    ['keeps multibyte characters', `data: ${tools(['admin', 'café ☕'])}\n\n`, `data: ${tools(['café ☕'])}\n\n`],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(run([input]), expected));

  for (const [name, input, expected] of cases.filter(([name]) => /rewrites|CRLF|CR line|multi-line|multibyte|before it/.test(name))) {
    it(`${name}, however the bytes are split`, () => {
      const length = Buffer.byteLength(input);
      for (let i = 0; i <= length; i++) assert.equal(runBytes(input, [i]), expected, `split at byte ${i}`);
      assert.equal(runBytes(input, Array.from({ length: length - 1 }, (_, i) => i + 1)), expected, 'one byte a chunk');
    });
  }

  it('holds an event until its blank line, then sends it at once', () => {
    const filter = new SseListFilter(options());
    assert.deepEqual(filter.push(Buffer.from(`data: ${progress}\n`)), []);
    assert.equal(Buffer.concat(filter.push(Buffer.from('\ndata: {"a"'))).toString(), `data: ${progress}\n\n`);
  });

  it('waits after a blank line ending in CR to see whether an LF follows', () => {
    const filter = new SseListFilter(options());
    assert.deepEqual(filter.push(Buffer.from(`data: ${progress}\r\r`)), []);
    assert.equal(Buffer.concat(filter.push(Buffer.from('\n'))).toString(), `data: ${progress}\r\r\n`);
  });
});

describe('SSE events over the size limit', () => {
  const big = `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'x'.repeat(300) } })}\n\n`;

  it('drops the event, reports it, and still filters the answer after it', () => {
    const dropped: DroppedEvent[] = [];
    const out = run([`data: ${progress}\n\n`, big.slice(0, 100), big.slice(100), `data: ${tools(['admin', 'a'])}\n\n`], options({ maxEventBytes: 200, onDrop: (d) => dropped.push(d) }));
    assert.equal(out, `data: ${progress}\n\ndata: ${tools(['a'])}\n\n`);
    assert.deepEqual(dropped, [{ code: 'sse_event_too_large', bytes: Buffer.byteLength(big), limit: 200 }]);
  });

  it('drops an event that arrives whole in one chunk', () => {
    const dropped: DroppedEvent[] = [];
    const after = `data: ${progress}\n\ndata: ${tools(['a'])}\n\n`;
    assert.equal(run([big + after], options({ maxEventBytes: 200, onDrop: (d) => dropped.push(d) })), after);
    assert.equal(dropped.length, 1);
  });

  it('never holds more than the limit of a long event', () => {
    const filter = new SseListFilter(options({ maxEventBytes: 1000 }));
    for (let i = 0; i < 1000; i++) assert.deepEqual(filter.push(Buffer.from('data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n')), []);
    assert.ok(filter.heldBytes <= 1000, `holds ${filter.heldBytes} bytes`);
  });

  it('answers the request with an error when the stream ends with no answer after a drop', () => {
    const out = run([`data: ${progress}\n\n`, `data: ${tools(['a'.repeat(300)])}\n\n`, 'data: {"partial'], options({ maxEventBytes: 200, server: 'math' }));
    const [first, second] = out.split('\n\n');
    assert.equal(first, `data: ${progress}`);
    assert.deepEqual(JSON.parse(second!.replace(/^data: /, '')), {
      jsonrpc: '2.0', id: 1, error: { code: -31005, message: 'the answer to tools/list was over 200 bytes, more than mcpmux lets through', data: { reason: 'body_too_large', server: 'math' } },
    });
    assert.ok(out.endsWith('}\n\n'));
  });

  it('adds no error when the answer came after a drop', () => {
    assert.equal(run([big, `data: ${tools(['a'])}\n\n`], options({ maxEventBytes: 200 })), `data: ${tools(['a'])}\n\n`);
  });
});

describe('SSE streams without the list answer', () => {
  const line = fc.oneof(
    fc.constantFrom('data: ' + progress, 'data: {"jsonrpc":"2.0","id":1,"method":"ping"}', 'data: {"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"admin"}]}}', 'data', 'data:', 'id: 1', 'event: message', 'retry: 5', ': comment', '\uFEFF', 'data: {"id":1', 'data: }'),
    fc.string({ unit: 'binary' }).filter((s) => !/[\r\n]/.test(s) && !s.includes('"id":1')),
  );
  const ending = fc.constantFrom('\n', '\r\n', '\r');
  const stream = fc.array(fc.tuple(line, ending), { maxLength: 30 }).chain((lines) => {
    const text = Buffer.from(lines.map(([l, e]) => l + e).join(''));
    return fc.tuple(fc.constant(text), fc.uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 8 }).map((cuts) => cuts.sort((a, b) => a - b)));
  });

  it('pass byte for byte, however they are chunked', () => {
    fc.assert(
      fc.property(stream, ([text, cuts]) => {
        const bounds = [0, ...cuts, text.length];
        const filter = new SseListFilter(options());
        const out = bounds.slice(1).flatMap((end, i) => filter.push(text.subarray(bounds[i], end)));
        assert.deepEqual(Buffer.concat([...out, ...filter.end()]), text);
      }),
      { seed: 20261123, numRuns: 500 },
    );
  });
});

describe('SSE streams with the list answer', () => {
  const event = fc.oneof(
    fc.constantFrom(`data: ${progress}`, ': c', 'id: 3\nevent: message', 'retry: 1'),
    fc.constant(`data: ${tools(['admin', 'a'], { nextCursor: 'n' })}`),
    fc.constant(`id: 4\ndata: {"jsonrpc":"2.0","id":1,\ndata: "result":{"tools":[{"name":"admin_x"},{"name":"b"}]}}`),
  );
  const ending = fc.constantFrom('\n', '\r\n', '\r');
  const stream = fc.array(fc.tuple(event, ending), { minLength: 1, maxLength: 6 }).chain((events) => {
    const text = Buffer.from(events.map(([e, end]) => e.replaceAll('\n', end) + end + end).join(''));
    return fc.tuple(fc.constant(text), fc.uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 8 }).map((cuts) => cuts.sort((a, b) => a - b)));
  });

  it('come out the same however they are chunked, and never with a forbidden name', () => {
    fc.assert(
      fc.property(stream, ([text, cuts]) => {
        const whole = run([text]);
        const bounds = [0, ...cuts, text.length];
        assert.equal(run(bounds.slice(1).map((end, i) => text.subarray(bounds[i], end))), whole);
        const first = whole.indexOf('"id":1');
        if (first >= 0) assert.ok(!whole.slice(first).split(/\r\n\r\n|\n\n|\r\r/)[0]!.includes('admin'), whole);
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });
});

describe('the SSE filter as a stream', () => {
  it('filters in a pipeline', async () => {
    const input = [`data: ${progress}\n`, `\ndata: ${tools(['admin', 'add'], { nextCursor: 'c' }).slice(0, 20)}`, `${tools(['admin', 'add'], { nextCursor: 'c' }).slice(20)}\n\n`, ': after\n\n'];
    const out: Buffer[] = [];
    await pipeline(Readable.from(input.map((s) => Buffer.from(s))), createSseListFilter(options()), new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk), done()) }));
    assert.equal(Buffer.concat(out).toString(), `data: ${progress}\n\ndata: ${tools(['add'], { nextCursor: 'c' })}\n\n: after\n\n`);
  });
});
