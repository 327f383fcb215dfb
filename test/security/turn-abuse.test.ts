/**
 * Resource and parser abuse against the real `cloudproxy turn`: malformed packets over UDP and
 * TCP (lying lengths, oversized attributes, truncated headers, bad cookies) are dropped and
 * counted while the server keeps serving; channel numbers out of range get 400; permission and
 * channel floods stop at the per-allocation quotas (508); allocation floods stop at the user
 * and source quotas (486); and no answer to an unauthenticated source is more than 3× the size
 * of its request.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restCredentials } from '../helpers/credentials.js';
import { MAGIC_COOKIE, StunAttr, bindingRequest } from '../helpers/stun.js';
import { startTurnServer, type TurnServerHandle } from '../helpers/turn-server.js';
import { channelBind, createPermission, fetchText, metricValue } from './common.js';
import {
  TurnAttacker,
  TurnAttr,
  TurnMethod,
  codeOf,
  isSuccess,
  u32Attr,
  xorAddress,
} from './turn-attacker.js';
import type { StunAttribute } from '../helpers/stun.js';

const SECRET = 'abuse-suite-secret';
const QUOTAS = { user: 3, source: 5, permission: 20, channel: 10 };
let server: TurnServerHandle;
const attackers: TurnAttacker[] = [];

async function attacker(
  transport: 'udp' | 'tcp' = 'udp',
  localAddress?: string,
): Promise<TurnAttacker> {
  const a = await TurnAttacker.open({
    host: '127.0.0.1',
    port: server.udpPort,
    transport,
    ...(localAddress ? { localAddress } : {}),
  });
  attackers.push(a);
  return a;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await fetchText(`http://127.0.0.1:${server.prometheusPort}/metrics`);
  return metricValue(text, name, labels);
}

let nextSource = 1;

/**
 * An attacker with a fresh allocation from its own source address and REST user, so that the
 * quotas of one test never bleed into another (UDP allocations outlive their sockets).
 */
async function allocated(transport: 'udp' | 'tcp' = 'udp'): Promise<TurnAttacker> {
  const n = nextSource++;
  const a = await attacker(transport, `127.0.1.${n}`);
  const { username, password } = restCredentials(SECRET, `abuse-${n}`, 600);
  expect(isSuccess(await a.allocate(username, password))).toBe(true);
  return a;
}

/** Whether the server still answers a Binding request from a fresh socket. */
async function stillServes(transport: 'udp' | 'tcp'): Promise<boolean> {
  const a = await attacker(transport);
  const answer = await a.exchange(bindingRequest().bytes);
  a.close();
  return isSuccess(answer);
}

function header(type: number, length: number, cookie = MAGIC_COOKIE): Buffer {
  const out = Buffer.alloc(20);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(length, 2);
  out.writeUInt32BE(cookie >>> 0, 4);
  out.fill(7, 8);
  return out;
}

/** Malformed STUN messages, each a datagram or a stream write. */
const MALFORMED: readonly (readonly [string, Buffer])[] = [
  ['truncated header (10 bytes)', header(0x0003, 0).subarray(0, 10)],
  ['bad magic cookie', header(0x0001, 0, 0xdeadbeef)],
  ['length larger than the datagram', header(0x0003, 400)],
  ['length not a multiple of 4', Buffer.concat([header(0x0003, 6), Buffer.alloc(6)])],
  [
    'attribute length 0xffff in an 8-byte body',
    Buffer.concat([header(0x0003, 8), Buffer.from([0x00, 0x19, 0xff, 0xff, 17, 0, 0, 0])]),
  ],
  [
    'attribute running past the message',
    Buffer.concat([header(0x0003, 8), Buffer.from([0x00, 0x06, 0x00, 0x08, 0x61, 0x62, 0, 0])]),
  ],
  [
    'XOR-PEER-ADDRESS of family 9',
    Buffer.concat([
      header(0x0008, 12),
      Buffer.from([0x00, 0x12, 0x00, 0x08, 0, 9, 0, 0, 1, 2, 3, 4]),
    ]),
  ],
  ['top bits set (not STUN, not ChannelData)', Buffer.from([0xc0, 0x01, 0x00, 0x00])],
];

beforeAll(async () => {
  server = await startTurnServer({
    impl: 'cloudproxy',
    users: [{ name: 'alice', password: 'alice-password' }],
    authSecret: SECRET,
    prometheus: true,
    extraArgs: [
      `--user-quota=${QUOTAS.user}`,
      `--source-quota=${QUOTAS.source}`,
      `--permission-quota=${QUOTAS.permission}`,
      `--channel-quota=${QUOTAS.channel}`,
    ],
  });
});

afterAll(async () => {
  for (const a of attackers) a.close();
  await server.stop();
});

describe.each(['udp', 'tcp'] as const)('malformed packets over %s', (transport) => {
  it('are dropped (or answered 400) and counted, and the server keeps serving', async () => {
    const before = await metric('cloudproxy_turn_dropped_packets_total');
    for (const [name, bytes] of MALFORMED) {
      const a = await attacker(transport);
      a.send(bytes);
      // A request with a malformed attribute may be answered 400; nothing else may come back.
      const answer = await a.waitFor(() => a.received[0], 300);
      if (answer !== undefined) expect(answer.readUInt16BE(0) & 0x0110, name).toBe(0x0110);
      a.close();
      expect(await stillServes(transport), `after ${name}`).toBe(true);
    }
    expect(await metric('cloudproxy_turn_dropped_packets_total')).toBeGreaterThan(before);
  });
});

describe('channel numbers out of range', () => {
  it.each([0x3fff, 0x8000, 0xffff, 0x0000])('ChannelBind %#x gets 400', async (channel) => {
    const a = await allocated();
    expect(codeOf(await channelBind(a, channel, '44.0.0.1', 5000))).toBe(400);
    a.close();
  });
});

describe('floods within one allocation', () => {
  it(`stops permissions at --permission-quota ${QUOTAS.permission} (508)`, async () => {
    const a = await allocated();
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < QUOTAS.permission + 5; i++)
      codes.push(codeOf(await createPermission(a, `44.0.${i >> 8}.${i & 0xff}`)));
    expect(codes.slice(0, QUOTAS.permission).every((c) => c === undefined)).toBe(true);
    expect(codes.slice(QUOTAS.permission).every((c) => c === 508)).toBe(true);
    // Refreshing an existing permission is never refused.
    expect(codeOf(await createPermission(a, '44.0.0.0'))).toBeUndefined();
    // Nor can one request carry the flood: many XOR-PEER-ADDRESS at once are all or nothing.
    const many = await a.signed(TurnMethod.CreatePermission, (tid) =>
      Array.from({ length: 40 }, (_, i) => ({
        type: TurnAttr.XorPeerAddress,
        value: xorAddress(`45.0.0.${i}`, 9, tid),
      })),
    );
    expect(codeOf(many)).toBe(508);
    a.close();
  });

  it(`stops channel bindings at --channel-quota ${QUOTAS.channel} (508)`, async () => {
    const a = await allocated('tcp');
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < QUOTAS.channel + 3; i++)
      codes.push(codeOf(await channelBind(a, 0x4000 + i, '44.1.0.1', 1000 + i)));
    expect(codes.slice(0, QUOTAS.channel).every((c) => c === undefined)).toBe(true);
    expect(codes.slice(QUOTAS.channel).every((c) => c === 508)).toBe(true);
    expect(codeOf(await channelBind(a, 0x4000, '44.1.0.1', 1000))).toBeUndefined(); // refresh
    a.close();
  });
});

describe('allocation floods', () => {
  it(`stops one user at --user-quota ${QUOTAS.user} (486)`, async () => {
    const codes: (number | undefined)[] = [];
    const held: TurnAttacker[] = [];
    for (let i = 0; i < QUOTAS.user + 2; i++) {
      const a = await attacker('udp', '127.0.0.4');
      held.push(a);
      codes.push(codeOf(await a.allocate('alice', 'alice-password')));
    }
    expect(codes).toEqual([...Array<undefined>(QUOTAS.user).fill(undefined), 486, 486]);
    for (const a of held) a.close();
  });

  it(`stops one source address at --source-quota ${QUOTAS.source} (486), whatever the users`, async () => {
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < QUOTAS.source + 2; i++) {
      const a = await attacker(i % 2 === 0 ? 'udp' : 'tcp', '127.0.0.5');
      const { username, password } = restCredentials(SECRET, `flood-${i}`, 600);
      codes.push(codeOf(await a.allocate(username, password)));
    }
    expect(codes).toEqual([...Array<undefined>(QUOTAS.source).fill(undefined), 486, 486]);
    // Another source is not affected.
    const other = await attacker('udp', '127.0.0.6');
    const { username, password } = restCredentials(SECRET, 'other-source', 600);
    expect(isSuccess(await other.allocate(username, password))).toBe(true);
  });
});

describe('amplification: answers to unauthenticated sources', () => {
  const transport = u32Attr(StunAttr.RequestedTransport, 17 << 24);
  const unauthenticated = (a: TurnAttacker, method: number, extra: StunAttribute[] = []): Buffer =>
    a.build(method, () => [transport, ...extra], false).bytes;

  const bounded: readonly (readonly [string, (a: TurnAttacker) => Buffer])[] = [
    ['Binding (success)', () => bindingRequest().bytes],
    [
      'forged credentials (401)',
      (a) => {
        a.realm = 'cloudproxy.test';
        a.nonce = 'obMatJos2wAAAforgedforgedforgedforged';
        a.username = 'alice';
        a.key = Buffer.alloc(16);
        return a.build(TurnMethod.Allocate, () => [transport]).bytes;
      },
    ],
    ['unknown method (400)', (a) => a.build(0x0ff, () => [], false).bytes],
  ];

  it.each(bounded)('%s: answer ≤ 3× the request', async (_name, make) => {
    const a = await attacker('udp', '127.0.2.1');
    const request = make(a);
    const answer = await a.exchange(request, 800);
    const size = answer?.raw.length ?? 0;
    expect(size, `request ${request.length} B, answer ${size} B`).toBeLessThanOrEqual(
      3 * request.length,
    );
    a.close();
  });

  // The 401 challenge must carry REALM, NONCE and PASSWORD-ALGORITHMS (RFC 8489 §9.2.4), about
  // 100 bytes more than the smallest Allocate: per packet it cannot be 3× a 20-byte request.
  // What bounds it is that its size is fixed (nothing of the request is echoed) and that the
  // 401/438 answers to one source are rate-limited (100/s by default), so a burst reflects less
  // than it costs.
  it.each([
    ['Allocate', TurnMethod.Allocate],
    ['Refresh', TurnMethod.Refresh],
    ['CreatePermission', TurnMethod.CreatePermission],
  ] as const)('%s challenge (401) has a fixed size whatever the request holds', async (_n, m) => {
    const a = await attacker('udp', '127.0.2.2');
    const small = await a.exchange(a.build(m, () => [], false).bytes, 800);
    expect(codeOf(small)).toBe(401);
    expect(small!.raw.length).toBeLessThanOrEqual(160);
    // Authentication comes first (RFC 8489 §9.2.4): a padded request, an unknown
    // comprehension-required attribute or a malformed one all get the same challenge.
    for (const extra of [
      { type: StunAttr.Software, value: Buffer.alloc(600, 0x41) },
      { type: 0x7777, value: Buffer.alloc(4) },
      { type: TurnAttr.XorPeerAddress, value: Buffer.alloc(3) },
    ]) {
      const answer = await a.exchange(unauthenticated(a, m, [extra]), 800);
      expect(codeOf(answer)).toBe(401);
      expect(answer!.raw.length).toBe(small!.raw.length);
    }
    a.close();
  });

  it('a burst of 600 unauthenticated Allocates from one source reflects less than 3× its bytes', async () => {
    const a = await attacker('udp', '127.0.2.3');
    let sent = 0;
    for (let i = 0; i < 600; i++) {
      const request = unauthenticated(a, TurnMethod.Allocate);
      sent += request.length;
      a.send(request);
    }
    await a.waitFor(() => undefined, 500);
    const answered = a.received.reduce((n, r) => n + r.length, 0);
    expect(a.received.length).toBeLessThan(200);
    expect(answered, `sent ${sent} B, answered ${answered} B`).toBeLessThanOrEqual(3 * sent);
    expect(
      await metric('cloudproxy_turn_dropped_packets_total', { reason: 'rate-limited' }),
    ).toBeGreaterThan(0);
    a.close();
  });
});
