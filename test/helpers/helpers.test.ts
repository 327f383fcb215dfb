/**
 * Unit tests of the harness itself: REST credentials (known vector), the test STUN codec, the
 * certificate's SPKI hash, uclient summary parsing. No server needed.
 */
import { describe, expect, it } from 'vitest';
import { makeSelfSignedCert, spkiSha256WithOpenssl } from './certs.js';
import { parseUclientSummary } from './coturn-tools.js';
import { restCredentials, restPassword } from './credentials.js';
import {
  StunAttr,
  StunClass,
  StunMethod,
  bindingRequest,
  decodeStun,
  decodeXorAddress,
  encodeStun,
  longTermKey,
} from './stun.js';

describe('REST credentials', () => {
  it('matches the known test vector', () => {
    expect(restPassword('north', '12334939:mbzrxpgjys')).toBe('Iq7YXkRon8YXJfdN1Ke9EZOw1UE=');
  });

  it('puts the expiry before the name', () => {
    const creds = restCredentials('north', 'mbzrxpgjys', 3600, 12331339_000);
    expect(creds).toEqual({
      username: '12334939:mbzrxpgjys',
      password: 'Iq7YXkRon8YXJfdN1Ke9EZOw1UE=',
    });
  });
});

describe('test STUN codec', () => {
  it('builds a 20-byte Binding request with the magic cookie', () => {
    const { bytes, transactionId } = bindingRequest();
    expect(bytes.length).toBe(20);
    expect(bytes.readUInt16BE(0)).toBe(0x0001);
    expect(bytes.readUInt16BE(2)).toBe(0);
    expect(bytes.readUInt32BE(4)).toBe(0x2112a442);
    expect(bytes.subarray(8)).toEqual(transactionId);
  });

  it('round-trips method, class and attributes, with MESSAGE-INTEGRITY last', () => {
    const key = longTermKey('user', 'realm', 'pass');
    const { bytes } = encodeStun(
      {
        method: StunMethod.Allocate,
        cls: StunClass.Error,
        attributes: [{ type: StunAttr.Username, value: Buffer.from('user') }],
      },
      key,
    );
    expect(bytes.readUInt16BE(0)).toBe(0x0113);
    const decoded = decodeStun(bytes)!;
    expect(decoded.method).toBe(StunMethod.Allocate);
    expect(decoded.cls).toBe(StunClass.Error);
    expect(decoded.attributes.map((a) => a.type)).toEqual([
      StunAttr.Username,
      StunAttr.MessageIntegrity,
    ]);
  });

  it('decodes the RFC 5769 §2.2 XOR-MAPPED-ADDRESS (192.0.2.1:32853)', () => {
    const tid = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
    const value = Buffer.from('0001a147e112a643', 'hex');
    expect(decodeXorAddress(value, tid)).toEqual({ family: 4, address: '192.0.2.1', port: 32853 });
  });
});

describe('self-signed certificate', () => {
  it('has the SPKI hash the openssl CLI computes', () => {
    const cert = makeSelfSignedCert();
    try {
      expect(cert.spkiSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(cert.spkiSha256).toBe(spkiSha256WithOpenssl(cert.certFile));
    } finally {
      cert.cleanup();
    }
  });
});

describe('uclient summary parser', () => {
  it('reads counts, loss and delay', () => {
    const output = [
      '7: : start_mclient: msz=2, tot_send_msgs=38, tot_recv_msgs=37, tot_send_bytes ~ 3800, tot_recv_bytes ~ 3700',
      '7: : start_mclient: tot_send_msgs=40, tot_recv_msgs=39',
      '7: : start_mclient: tot_send_bytes ~ 4000, tot_recv_bytes ~ 3900',
      '7: : Total transmit time is 7',
      '7: : Total lost packets 1 (2.500000%), total send dropped 0 (0.000000%)',
      '7: : Average round trip delay 0.250000 ms; min = 0 ms, max = 3 ms',
      '7: : Average jitter 1.000000 ms; min = 0 ms, max = 4 ms',
    ].join('\n');
    expect(parseUclientSummary(output)).toEqual({
      sent: 40,
      received: 39,
      sentBytes: 4000,
      receivedBytes: 3900,
      lost: 1,
      lostPercent: 2.5,
      sendDropped: 0,
      rttAvgMs: 0.25,
      rttMinMs: 0,
      rttMaxMs: 3,
      jitterAvgMs: 1,
    });
  });

  it('returns undefined when uclient never got to a summary', () => {
    expect(parseUclientSummary('0: : ERROR: Cannot complete Allocation\n')).toBeUndefined();
  });
});
