import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvents } from '../../src/events.js';

describe('lifecycle events', () => {
  it('reports a throwing listener as internal-error and still calls the others', () => {
    const events = createEvents();
    const seen: string[] = [];
    const errors: unknown[] = [];
    events.on('internal-error', ({ where }) => void errors.push(where));
    events.on('listening', () => {
      throw new Error('boom');
    });
    events.on('listening', ({ listener }) => void seen.push(listener));
    events.emit('listening', { listener: 'public', host: '127.0.0.1', port: 1 });
    assert.deepEqual(seen, ['public']);
    assert.deepEqual(errors, ['listener of listening']);
  });
});
