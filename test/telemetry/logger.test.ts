import { describe, expect, it } from 'vitest';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';

function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const sink = new MemorySink();
  Logger.create({ sink, bindings: { request_id: 'r-1' } }).error('failed', fields);
  expect(sink.lines).toHaveLength(1);
  expect(sink.lines[0]).not.toContain('\n');
  return JSON.parse(sink.lines[0]!) as Record<string, unknown>;
}

describe('a log line', () => {
  it('is written, and the caller goes on, when a field cannot be serialized (a circular object, a throwing toJSON)', () => {
    const circular: Record<string, unknown> = { name: 'request' };
    circular.self = circular;
    const throwing = { toJSON: () => { throw new Error('no JSON for this'); } };
    for (const fields of [{ circular }, { throwing }]) {
      expect(logged(fields)).toMatchObject({ level: 'error', msg: 'failed', request_id: 'r-1' });
    }
  });

  it("keeps an error's cause (fetch's \"fetch failed\" says why only there)", () => {
    const error = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(logged({ err: error })).toMatchObject({ err: { name: 'TypeError', message: 'fetch failed', cause: { message: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' } } });
  });

  it('keeps an error whose causes lead back to it, naming the loop rather than losing the message', () => {
    const outer = new Error('outer failed');
    const inner = new Error('inner failed', { cause: outer });
    outer.cause = inner;
    expect(logged({ err: outer })).toMatchObject({ err: { message: 'outer failed', cause: { message: 'inner failed', cause: '[Circular]' } } });
  });
});
