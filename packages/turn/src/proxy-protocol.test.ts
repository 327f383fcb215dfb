import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProxyProtocolError } from './errors.js';
import {
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
  PROXY_V2_SIGNATURE,
  parseProxyHeader,
} from './proxy-protocol.js';

const NUM_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A v2 header: command PROXY (0x21) or LOCAL (0x20), family/protocol byte, address block. */
function v2(command: number, familyProtocol: number, body: number[]): Uint8Array {
  return new Uint8Array([
    ...PROXY_V2_SIGNATURE,
    command,
    familyProtocol,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  ]);
}

const V2_TCP4 = v2(0x21, 0x11, [203, 0, 113, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb]);

describe('parseProxyHeader', () => {
  const done = [
    {
      name: 'v1 TCP4',
      bytes: text('PROXY TCP4 203.0.113.7 10.0.0.1 50000 443\r\n'),
      source: { family: 4, address: '203.0.113.7', port: 50000 },
      destination: { family: 4, address: '10.0.0.1', port: 443 },
    },
    {
      name: 'v1 TCP6',
      bytes: text('PROXY TCP6 2001:db8::7 2001:db8::1 40000 3478\r\n'),
      source: { family: 6, address: '2001:db8::7', port: 40000 },
      destination: { family: 6, address: '2001:db8::1', port: 3478 },
    },
    {
      name: 'v2 TCP4',
      bytes: V2_TCP4,
      source: { family: 4, address: '203.0.113.7', port: 50000 },
      destination: { family: 4, address: '10.0.0.1', port: 443 },
    },
    {
      name: 'v2 TCP6 with a TLV after the addresses',
      bytes: v2(0x21, 0x21, [
        ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
        ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ...[0x9c, 0x40, 0x0d, 0x96],
        ...[0x04, 0x00, 0x01, 0x00],
      ]),
      source: { family: 6, address: '2001:db8::7', port: 40000 },
      destination: { family: 6, address: '2001:db8::1', port: 3478 },
    },
  ];
  it.each(done)('reads the client of a $name header', (c) => {
    const result = parseProxyHeader(new Uint8Array([...c.bytes, 0x00, 0x01, 0xff]));
    expect(result).toEqual({
      status: 'done',
      headerBytes: c.bytes.length,
      header: {
        kind: 'proxied',
        version: c.name.startsWith('v1') ? 1 : 2,
        source: c.source,
        destination: c.destination,
      },
    });
  });

  it.each([
    ['v1 UNKNOWN', text('PROXY UNKNOWN\r\n'), 1],
    ['v1 UNKNOWN with addresses', text('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), 1],
    ['v2 LOCAL', v2(0x20, 0x00, []), 2],
    ['v2 UNSPEC', v2(0x21, 0x00, []), 2],
    ['v2 UDP4', v2(0x21, 0x12, new Array<number>(12).fill(1)), 2],
  ] as const)('treats %s as local (the connection speaks for itself)', (_name, bytes, version) => {
    expect(parseProxyHeader(bytes)).toEqual({
      status: 'done',
      headerBytes: bytes.length,
      header: { kind: 'local', version },
    });
  });

  it('asks for more bytes for every strict prefix of a header', () => {
    for (const header of [V2_TCP4, text('PROXY TCP4 203.0.113.7 10.0.0.1 50000 443\r\n')]) {
      for (let n = 0; n < header.length; n++)
        expect(parseProxyHeader(header.subarray(0, n)).status, `${n}`).toBe('incomplete');
    }
  });

  it.each([
    ['a TLS ClientHello', new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05])],
    ['a STUN request', new Uint8Array([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42])],
    ['v1 with a bad signature', text('PROXI TCP4')],
    ['v1 with a bad protocol', text('PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n')],
    ['v1 with a missing field', text('PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n')],
    ['v1 with a port out of range', text('PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n')],
    ['v1 with a port with a leading zero', text('PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n')],
    ['v1 TCP4 with an IPv6 address', text('PROXY TCP4 ::1 1.2.3.5 1 2\r\n')],
    ['v1 without CRLF in 107 bytes', text(`PROXY TCP4 ${'1'.repeat(PROXY_V1_MAX_BYTES)}`)],
    ['v2 with a bad signature', new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0b])],
    ['v2 version 1', v2(0x11, 0x11, new Array<number>(12).fill(0))],
    ['v2 command 2', v2(0x22, 0x11, new Array<number>(12).fill(0))],
    ['v2 TCP4 with a short address block', v2(0x21, 0x11, [1, 2, 3, 4])],
    ['v2 longer than the bound', v2(0x21, 0x11, new Array<number>(PROXY_V2_MAX_BYTES).fill(0))],
  ])('refuses %s with ProxyProtocolError', (_name, bytes) => {
    expect(() => parseProxyHeader(bytes)).toThrow(ProxyProtocolError);
  });

  it('throws nothing but ProxyProtocolError on arbitrary bytes (fuzz)', () => {
    const prefixes = fc.constantFrom(
      new Uint8Array(),
      PROXY_V2_SIGNATURE,
      V2_TCP4.subarray(0, 16),
      text('PROXY '),
      text('PROXY TCP4 '),
    );
    fc.assert(
      fc.property(prefixes, fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
        const bytes = new Uint8Array([...prefix, ...tail]);
        try {
          const result = parseProxyHeader(bytes);
          if (result.status === 'done')
            expect(result.headerBytes).toBeLessThanOrEqual(bytes.length);
        } catch (error) {
          expect(error).toBeInstanceOf(ProxyProtocolError);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never reads past the header: bytes after it change nothing (fuzz)', () => {
    const headers = fc.oneof(
      fc
        .tuple(fc.ipV4(), fc.ipV4(), fc.nat(65535), fc.nat(65535))
        .map(([a, b, p, q]) => text(`PROXY TCP4 ${a} ${b} ${p} ${q}\r\n`)),
      fc
        .tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 40 }))
        .map(([addresses, tlvs]) => v2(0x21, 0x11, [...addresses, ...tlvs])),
    );
    fc.assert(
      fc.property(headers, fc.uint8Array({ maxLength: 64 }), (header, after) => {
        const alone = parseProxyHeader(header);
        const followed = parseProxyHeader(new Uint8Array([...header, ...after]));
        expect(alone.status).toBe('done');
        expect(followed).toEqual(alone);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
