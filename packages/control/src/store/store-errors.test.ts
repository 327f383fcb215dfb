import { describe, expect, it } from 'vitest';
import { storeUnavailableProblem, storeUnavailableReason } from './store-errors.js';

function coded(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('storeUnavailableReason', () => {
  it.each([
    [coded('ECONNREFUSED'), 'connection failed (ECONNREFUSED)'],
    [coded('SQLITE_FULL'), 'disk full (SQLITE_FULL)'],
    [coded('SQLITE_IOERR_WRITE'), 'disk I/O error (SQLITE_IOERR_WRITE)'],
    [coded('57P01'), 'server shutting down or starting (57P01)'],
    [coded('08006'), 'connection exception (08006)'],
    [coded('53100'), 'disk full on the database server (53100)'],
    [
      new Error('Connection terminated unexpectedly'),
      'connection lost (Connection terminated unexpectedly)',
    ],
    [new Error('wrapped', { cause: coded('ECONNRESET') }), 'connection failed (ECONNRESET)'],
    [new AggregateError([coded('ECONNREFUSED')]), 'connection failed (ECONNREFUSED)'],
  ])('recognises %s', (error, reason) => {
    expect(storeUnavailableReason(error)).toBe(reason);
  });

  it.each([
    [new Error('boom')],
    [coded('SQLITE_CONSTRAINT_UNIQUE')],
    [coded('23505')],
    ['text'],
    [undefined],
  ])('leaves other errors alone: %s', (error) => {
    expect(storeUnavailableReason(error)).toBeUndefined();
    expect(storeUnavailableProblem(error)).toBeUndefined();
  });

  it('makes a 503 unavailable problem with Retry-After', () => {
    const problem = storeUnavailableProblem(coded('SQLITE_FULL'));
    expect(problem?.status).toBe(503);
    expect(problem?.code).toBe('unavailable');
    expect(problem?.headers).toEqual({ 'retry-after': '5' });
    expect(problem?.message).toBe('the store is unavailable: disk full (SQLITE_FULL); retry later');
  });
});
