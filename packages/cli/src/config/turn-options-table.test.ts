import { describe, expect, it } from 'vitest';
import { COTURN_LONG_OPTIONS, COTURN_SHORT_OPTIONS, isCoturnOption } from './coturn-options.js';
import { TURN_OPTION_GROUPS } from './turn-option-spec.js';
import { TURN_OPTIONS, findTurnOption, findTurnOptionByShort } from './turn-options-table.js';

/** The options the CLI contract (ARCHITECTURE.md) and the brief require. */
const REQUIRED = [
  'listening-ip',
  'listening-port',
  'tls-listening-port',
  'relay-ip',
  'external-ip',
  'min-port',
  'max-port',
  'realm',
  'user',
  'lt-cred-mech',
  'use-auth-secret',
  'static-auth-secret',
  'cert',
  'pkey',
  'denied-peer-ip',
  'allowed-peer-ip',
  'allow-loopback-peers',
  'user-quota',
  'total-quota',
  'max-bps',
  'no-udp',
  'no-tcp',
  'no-tls',
  'no-dtls',
  'no-auth',
  'log-file',
  'prometheus',
  'prometheus-port',
  'prometheus-address',
  'stale-nonce',
  'max-allocate-lifetime',
  'channel-lifetime',
  'permission-lifetime',
  'fingerprint',
  'no-cli',
  'pidfile',
  'verbose',
  'Verbose',
  'no-software-attribute',
  'relay-threads',
  'config',
];
/** Options of ours that coturn spells differently or not at all. */
const CLOUDPROXY_ONLY = [
  'config',
  'no-config',
  'help',
  'drain-timeout',
  'proxy-protocol-from',
  'data-plane',
  'data-plane-threads',
  'strict-config-permissions',
  'source-quota',
  'permission-quota',
  'channel-quota',
];

describe('the options table', () => {
  it.each(REQUIRED)('supports --%s', (name) => {
    expect(findTurnOption(name)?.name).toBe(name);
  });

  it('describes each option once, with unique aliases', () => {
    const names = TURN_OPTIONS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const shorts = TURN_OPTIONS.flatMap((s) => (s.short === undefined ? [] : [s.short]));
    expect(new Set(shorts).size).toBe(shorts.length);
  });

  it("uses coturn's names, except the command-line-only -c, -n and -h", () => {
    for (const spec of TURN_OPTIONS) {
      expect(isCoturnOption(spec.name) || CLOUDPROXY_ONLY.includes(spec.name), spec.name).toBe(
        true,
      );
    }
  });

  it("uses coturn's one-letter aliases", () => {
    for (const spec of TURN_OPTIONS.filter((s) => s.short !== undefined)) {
      expect(COTURN_SHORT_OPTIONS[spec.short ?? ''], spec.name).toBe(spec.name);
      expect(findTurnOptionByShort(spec.short ?? '')).toBe(spec);
    }
  });

  it('maps every coturn alias to a coturn long name', () => {
    for (const long of Object.values(COTURN_SHORT_OPTIONS)) {
      expect(isCoturnOption(long) || CLOUDPROXY_ONLY.includes(long), long).toBe(true);
    }
  });

  it('lists each coturn name once', () => {
    expect(new Set(COTURN_LONG_OPTIONS).size).toBe(COTURN_LONG_OPTIONS.length);
  });

  it('gives every option a known group, a one-line description and, for values, a value name', () => {
    for (const spec of TURN_OPTIONS) {
      expect(Object.keys(TURN_OPTION_GROUPS)).toContain(spec.group);
      expect(spec.description).toMatch(/^[A-Z].*\.$/);
      expect(spec.description).not.toContain('\n');
      if (spec.kind !== 'flag') expect(spec.valueName).toMatch(/^<.+>$/);
    }
  });

  it('keeps integer bounds and bare values consistent', () => {
    for (const spec of TURN_OPTIONS) {
      if (spec.kind !== 'int') continue;
      expect(spec.min).toBeLessThanOrEqual(spec.max);
      if (spec.bareValue !== undefined) {
        expect(spec.bareValue).toBeGreaterThanOrEqual(spec.min);
        expect(spec.bareValue).toBeLessThanOrEqual(spec.max);
        expect(spec.defaultText).toBe(String(spec.bareValue));
      }
    }
  });
});
