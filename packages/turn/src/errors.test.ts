import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidOptionError,
  ProxyProtocolError,
  TURN_ERROR_CODES,
  createError,
} from './errors.js';

describe('createError', () => {
  const Example = createError('ERR_TURN_EXAMPLE_THING', 'thing %s failed: %s');

  const cases: { name: string; make: () => Error; message: string }[] = [
    {
      name: 'fills placeholders in order',
      make: () => new Example('a', 42),
      message: 'thing a failed: 42',
    },
    {
      name: 'leaves missing placeholders as %s',
      make: () => new Example('a'),
      message: 'thing a failed: %s',
    },
    {
      name: 'ignores extra values',
      make: () => new Example('a', 'b', 'c'),
      message: 'thing a failed: b',
    },
    {
      name: 'takes a trailing options object as the cause, not a value',
      make: () => new Example('a', 'b', { cause: new Error('root') }),
      message: 'thing a failed: b',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(c.make().message).toBe(c.message);
    });
  }

  it('gives instances a stable code, a derived name and the cause', () => {
    const cause = new Error('root');
    const err = new Example('x', 'y', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(Example);
    expect(err.code).toBe('ERR_TURN_EXAMPLE_THING');
    expect(Example.code).toBe('ERR_TURN_EXAMPLE_THING');
    expect(err.name).toBe('ExampleThingError');
    expect(err.cause).toBe(cause);
    expect(err.stack).toContain('ExampleThingError');
  });

  it('accepts an explicit class name', () => {
    expect(new (createError('ERR_TURN_X', 'x', 'CustomError'))().name).toBe('CustomError');
  });
});

describe('the catalog', () => {
  it('InvalidOptionError formats "<option>: <reason>"', () => {
    const err = new InvalidOptionError('minPort', 'must be ≤ maxPort, got 2 > 1');
    expect(err.message).toBe('minPort: must be ≤ maxPort, got 2 > 1');
    expect(err.name).toBe('InvalidOptionError');
    expect(err.code).toBe('ERR_TURN_INVALID_OPTION');
  });

  it('lists every exported error code exactly once, each ERR_TURN_*', () => {
    const codes = TURN_ERROR_CODES.map((e) => e.code);
    expect(codes).toEqual([
      InvalidOptionError.code,
      InvalidArgumentError.code,
      ProxyProtocolError.code,
    ]);
    expect(new Set(codes).size).toBe(codes.length);
    for (const entry of TURN_ERROR_CODES) {
      expect(entry.code).toMatch(/^ERR_TURN_[A-Z_]+$/);
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });
});
