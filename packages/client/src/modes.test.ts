import { describe, expect, it } from 'vitest';
import { CloudProxyError } from './errors.js';
import { resolveMode } from './modes.js';

describe('resolveMode', () => {
  it.each([
    ['auto', 'auto'],
    ['force-udp', 'force-udp'],
    ['force-tcp', 'force-tcp'],
    [3, 'force-udp'],
    [5, 'force-tcp'],
    [0, 'auto'],
    [1, 'force-udp'],
    [2, 'force-tcp'],
  ] as const)('resolves %s to %s', (input, mode) => {
    expect(resolveMode(input)).toBe(mode);
  });

  it.each([4, 6, -1, 1.5, 'udp', 'AUTO', '', null, undefined, '3'])(
    'refuses %s with INVALID_MODE',
    (input) => {
      let error: unknown;
      try {
        resolveMode(input, 'mode');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(CloudProxyError);
      expect((error as CloudProxyError).code).toBe('INVALID_MODE');
      expect((error as CloudProxyError).message).toMatch(/^mode: .* is not a proxy mode/);
    },
  );
});
