import {
  AddressFamily,
  MessageClass,
  Method,
  additionalAddressFamily,
  attr,
  channelNumber,
  xorPeerAddress,
} from '@cloudproxy/stun';
import { describe, expect, it } from 'vitest';
import { formatIp } from '../src/peer-policy/ip-address.js';
import {
  IPV4_SPECIAL_RANGES,
  IPV6_SPECIAL_RANGES,
  SpecialRangeKind,
} from '../src/peer-policy/special-ranges.js';
import { ScenarioClient, errorCodeOf, makeCore } from './scenario.js';

/** A dual-stack allocation on a core with the default peer policy (nothing opted in). */
function dualAllocation(): ScenarioClient {
  const { core } = makeCore({ peerPolicy: {} });
  const client = new ScenarioClient(core);
  expect(client.allocate([attr(additionalAddressFamily, AddressFamily.IPv6)]).messageClass).toBe(
    MessageClass.SuccessResponse,
  );
  return client;
}

function createPermission(client: ScenarioClient, address: string): number | undefined {
  const family = address.includes(':') ? 6 : 4;
  return errorCodeOf(
    client.request(Method.CreatePermission, [attr(xorPeerAddress, { family, address, port: 9 })]),
  );
}

const denied = [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES].filter(
  (r) => r.kind !== SpecialRangeKind.EmbedsIpv4,
);

describe('default peer policy through CreatePermission', () => {
  it.each(denied.map((r) => [r.name, r.cidr, formatIp(r.range.last)] as const))(
    'refuses %s (%s) with 403',
    (_name, _cidr, address) => {
      expect(createPermission(dualAllocation(), address)).toBe(403);
    },
  );

  it.each([
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
    ['IPv4-mapped RFC 1918', '::ffff:10.1.2.3'],
    ['IPv4-compatible metadata address', '::169.254.169.254'],
    ['6to4 of 10.0.0.1', '2002:a00:1::1'],
    ['NAT64 of 192.168.1.1', '64:ff9b::c0a8:101'],
    ['local-use NAT64 of 127.0.0.1', '64:ff9b:1::7f00:1'],
    ['Teredo client 10.0.0.1', '2001:0:4136:e378:8000:63bf:f5ff:fffe'],
  ])('refuses %s (%s) with 403', (_name, address) => {
    expect(createPermission(dualAllocation(), address)).toBe(403);
  });

  it.each([['44.1.2.3'], ['2a00:1450:4001::1'], ['2002:2c01:203::1']])(
    'allows the public address %s',
    (address) => {
      expect(createPermission(dualAllocation(), address)).toBeUndefined();
    },
  );
});

describe("the server's own addresses", () => {
  it('are peers on relay ports even in a special-purpose range, and refused elsewhere', () => {
    const { core } = makeCore({ peerPolicy: {} });
    core.setOwnAddresses(['10.0.0.5'], { min: 49152, max: 65535 });
    const client = new ScenarioClient(core);
    client.allocate();
    const bind = (port: number, channel: number) =>
      errorCodeOf(
        client.request(Method.ChannelBind, [
          attr(channelNumber, channel),
          attr(xorPeerAddress, { family: 4, address: '10.0.0.5', port }),
        ]),
      );
    expect(bind(50000, 0x4000)).toBeUndefined(); // the client's own relay: a live relay port
    expect(bind(3478, 0x4001)).toBe(403);
    expect(bind(50002, 0x4002)).toBe(403); // in the range, but no relay of this server uses it
    expect(createPermission(client, '10.0.0.6')).toBe(403);
    expect(createPermission(client, '10.0.0.5')).toBe(403); // port 9: no relay port
  });

  it('refuses an own (public) address spelt as 6to4, even on a relay port', () => {
    const client = dualAllocation(); // the scenario server's own address is 44.0.0.10
    const sixToFour = { family: 6 as const, address: '2002:2c00:a::1', port: 50000 };
    const response = client.request(Method.ChannelBind, [
      attr(channelNumber, 0x4002),
      attr(xorPeerAddress, sixToFour),
    ]);
    expect(errorCodeOf(response)).toBe(403);
  });
});
