/**
 * Registry truth: methods, attribute types, error codes and other constants against the IANA
 * "Session Traversal Utilities for NAT (STUN) Parameters" registry, transcribed from
 * RFC 8489 §18, RFC 8656 §17-19, RFC 6062 §6, RFC 5780 §9, RFC 8445 §20, RFC 7635 §6.2, RFC 7982 §3.
 * @module
 */
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_CODECS,
  AddressFamily,
  AttrType,
  ERROR_REASONS,
  ErrorCode,
  MAGIC_COOKIE,
  Method,
  PasswordAlgorithmId,
  TransportProtocol,
  isComprehensionRequired,
} from '../src/index.js';

/** IANA STUN Methods. */
const IANA_METHODS: readonly (readonly [number, string])[] = [
  [0x001, 'Binding'],
  [0x003, 'Allocate'],
  [0x004, 'Refresh'],
  [0x006, 'Send'],
  [0x007, 'Data'],
  [0x008, 'CreatePermission'],
  [0x009, 'ChannelBind'],
  [0x00a, 'Connect'],
  [0x00b, 'ConnectionBind'],
  [0x00c, 'ConnectionAttempt'],
];

/** IANA STUN Attributes implemented here (type, registered name). */
const IANA_ATTRIBUTES: readonly (readonly [number, string])[] = [
  [0x0001, 'MAPPED-ADDRESS'],
  [0x0003, 'CHANGE-REQUEST'],
  [0x0006, 'USERNAME'],
  [0x0008, 'MESSAGE-INTEGRITY'],
  [0x0009, 'ERROR-CODE'],
  [0x000a, 'UNKNOWN-ATTRIBUTES'],
  [0x000c, 'CHANNEL-NUMBER'],
  [0x000d, 'LIFETIME'],
  [0x0012, 'XOR-PEER-ADDRESS'],
  [0x0013, 'DATA'],
  [0x0014, 'REALM'],
  [0x0015, 'NONCE'],
  [0x0016, 'XOR-RELAYED-ADDRESS'],
  [0x0017, 'REQUESTED-ADDRESS-FAMILY'],
  [0x0018, 'EVEN-PORT'],
  [0x0019, 'REQUESTED-TRANSPORT'],
  [0x001a, 'DONT-FRAGMENT'],
  [0x001b, 'ACCESS-TOKEN'],
  [0x001c, 'MESSAGE-INTEGRITY-SHA256'],
  [0x001d, 'PASSWORD-ALGORITHM'],
  [0x001e, 'USERHASH'],
  [0x0020, 'XOR-MAPPED-ADDRESS'],
  [0x0022, 'RESERVATION-TOKEN'],
  [0x0024, 'PRIORITY'],
  [0x0025, 'USE-CANDIDATE'],
  [0x0026, 'PADDING'],
  [0x0027, 'RESPONSE-PORT'],
  [0x002a, 'CONNECTION-ID'],
  [0x8000, 'ADDITIONAL-ADDRESS-FAMILY'],
  [0x8001, 'ADDRESS-ERROR-CODE'],
  [0x8002, 'PASSWORD-ALGORITHMS'],
  [0x8003, 'ALTERNATE-DOMAIN'],
  [0x8004, 'ICMP'],
  [0x8022, 'SOFTWARE'],
  [0x8023, 'ALTERNATE-SERVER'],
  [0x8025, 'TRANSACTION_TRANSMIT_COUNTER'],
  [0x8027, 'CACHE-TIMEOUT'],
  [0x8028, 'FINGERPRINT'],
  [0x8029, 'ICE-CONTROLLED'],
  [0x802a, 'ICE-CONTROLLING'],
  [0x802b, 'RESPONSE-ORIGIN'],
  [0x802c, 'OTHER-ADDRESS'],
];

/** IANA STUN Error Codes (code, registered reason phrase). */
const IANA_ERROR_CODES: readonly (readonly [number, string])[] = [
  [300, 'Try Alternate'],
  [400, 'Bad Request'],
  [401, 'Unauthenticated'],
  [403, 'Forbidden'],
  [405, 'Mobility Forbidden'],
  [420, 'Unknown Attribute'],
  [437, 'Allocation Mismatch'],
  [438, 'Stale Nonce'],
  [440, 'Address Family not Supported'],
  [441, 'Wrong Credentials'],
  [442, 'Unsupported Transport Protocol'],
  [443, 'Peer Address Family Mismatch'],
  [446, 'Connection Already Exists'],
  [447, 'Connection Timeout or Failure'],
  [486, 'Allocation Quota Reached'],
  [487, 'Role Conflict'],
  [500, 'Server Error'],
  [508, 'Insufficient Capacity'],
];

const sorted = (values: Iterable<number>): number[] => [...values].sort((a, b) => a - b);

describe('IANA STUN registry', () => {
  it('Method matches the STUN Methods registry', () => {
    expect(sorted(Object.values(Method))).toEqual(IANA_METHODS.map(([v]) => v));
    for (const [value, name] of IANA_METHODS) {
      expect(Method[name as keyof typeof Method]).toBe(value);
    }
  });

  it('AttrType and ATTRIBUTE_CODECS match the STUN Attributes registry, names included', () => {
    expect(sorted(Object.values(AttrType))).toEqual(IANA_ATTRIBUTES.map(([v]) => v));
    expect(sorted(ATTRIBUTE_CODECS.keys())).toEqual(IANA_ATTRIBUTES.map(([v]) => v));
    for (const [type, name] of IANA_ATTRIBUTES) {
      expect(ATTRIBUTE_CODECS.get(type)?.name).toBe(name);
    }
  });

  it('comprehension-required is exactly 0x0000-0x7FFF (RFC 8489 §18.3)', () => {
    expect(isComprehensionRequired(0x0000)).toBe(true);
    expect(isComprehensionRequired(0x7fff)).toBe(true);
    expect(isComprehensionRequired(0x8000)).toBe(false);
    expect(isComprehensionRequired(0xffff)).toBe(false);
  });

  it('ErrorCode and ERROR_REASONS match the STUN Error Codes registry', () => {
    expect(sorted(Object.values(ErrorCode))).toEqual(IANA_ERROR_CODES.map(([v]) => v));
    expect(Object.entries(ERROR_REASONS).map(([code, reason]) => [Number(code), reason])).toEqual(
      IANA_ERROR_CODES,
    );
  });

  it('password algorithms, address families, protocols and the magic cookie', () => {
    expect(PasswordAlgorithmId).toEqual({ Md5: 0x0001, Sha256: 0x0002 });
    expect(AddressFamily).toEqual({ IPv4: 0x01, IPv6: 0x02 });
    expect(TransportProtocol).toEqual({ Tcp: 6, Udp: 17 });
    expect(MAGIC_COOKIE).toBe(0x2112a442);
  });
});
