import {
  AttrType,
  MessageClass,
  Method,
  additionalAddressFamily,
  attr,
  channelNumber,
  data as dataAttr,
  decodeMessage,
  encodeChannelData,
  encodeMessage,
  lifetime,
  newTransactionId,
  requestedAddressFamily,
  xorPeerAddress,
} from '@cloudproxy/stun';
import type { AttributeEntry, TransportAddress } from '@cloudproxy/stun';
import { describe, expect, it } from 'vitest';
import { ScenarioClient, errorCodeOf, makeCore } from './scenario.js';

const PEER: TransportAddress = { family: 4, address: '203.0.114.5', port: 6000 };
const peerAttr = (peer: TransportAddress = PEER) => attr(xorPeerAddress, peer);

function allocated(options: Parameters<typeof makeCore>[0] = {}) {
  const { core, clock } = makeCore(options);
  const client = new ScenarioClient(core);
  expect(client.allocate().messageClass).toBe(MessageClass.SuccessResponse);
  return { core, clock, client };
}

function sendIndication(client: ScenarioClient, peer: TransportAddress, payload: Uint8Array): void {
  client.sendRaw(
    encodeMessage({
      method: Method.Send,
      messageClass: MessageClass.Indication,
      transactionId: newTransactionId(),
      attributes: [attr(xorPeerAddress, peer), attr(dataAttr, payload)],
    }),
  );
}

describe('Refresh (RFC 8656 §8.2)', () => {
  it('grants min(requested, max) but never less than the default', () => {
    const { client } = allocated({ maxLifetimeS: 3600 });
    expect(client.request(Method.Refresh, [attr(lifetime, 1200)]).get(lifetime)).toBe(1200);
    expect(client.request(Method.Refresh, [attr(lifetime, 99999)]).get(lifetime)).toBe(3600);
    expect(client.request(Method.Refresh, [attr(lifetime, 30)]).get(lifetime)).toBe(600);
    expect(client.request(Method.Refresh, []).get(lifetime)).toBe(600);
  });

  it('deletes the allocation with LIFETIME 0, closing its relay', () => {
    const { core, client } = allocated();
    const response = client.request(Method.Refresh, [attr(lifetime, 0)]);
    expect(response.get(lifetime)).toBe(0);
    expect(client.lastActions.some((a) => a.type === 'close-relay')).toBe(true);
    expect(core.allocationCount).toBe(0);
    expect(errorCodeOf(client.request(Method.Refresh, []))).toBe(437);
  });

  it('answers 441 when another user refreshes the allocation', () => {
    const { client } = allocated();
    client.username = 'bob';
    client.password = 'builder';
    expect(errorCodeOf(client.request(Method.Refresh, []))).toBe(441);
  });

  it('answers 443 for a REQUESTED-ADDRESS-FAMILY the allocation does not have', () => {
    const { client } = allocated();
    expect(errorCodeOf(client.request(Method.Refresh, [attr(requestedAddressFamily, 2)]))).toBe(
      443,
    );
  });

  it('expires the allocation exactly at its lifetime', () => {
    const { core, clock, client } = allocated();
    clock.advance(599_999);
    expect(core.hasAllocation(client.ref.key)).toBe(true);
    clock.advance(1);
    expect(core.hasAllocation(client.ref.key)).toBe(false);
    expect(core.nextDeadlineMs()).toBeLessThanOrEqual(clock.nowMs());
    const actions = core.handleTimeout();
    expect(actions.map((a) => a.type)).toEqual(['close-relay', 'emit']);
    expect(core.allocationCount).toBe(0);
  });
});

describe('CreatePermission and Send/Data (RFC 8656 §10, §11)', () => {
  it('installs a permission and relays Send indications to the peer', () => {
    const { client } = allocated();
    expect(client.request(Method.CreatePermission, [peerAttr()]).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    sendIndication(client, { ...PEER, port: 7777 }, new Uint8Array([1, 2, 3]));
    expect(client.peerSends).toEqual([
      { data: new Uint8Array([1, 2, 3]), port: 7777, address: PEER.address },
    ]);
  });

  it('drops Send indications without a permission', () => {
    const { core, client } = allocated();
    sendIndication(client, PEER, new Uint8Array([1]));
    expect(client.peerSends).toHaveLength(0);
    expect(core.stats.ignored.get('no-permission')).toBe(1);
  });

  it('expires a permission exactly 300 s after it was installed', () => {
    const { clock, client } = allocated();
    client.request(Method.CreatePermission, [peerAttr()]);
    clock.advance(299_999);
    sendIndication(client, PEER, new Uint8Array([1]));
    clock.advance(1);
    sendIndication(client, PEER, new Uint8Array([2]));
    expect(client.peerSends.map((s) => s.data[0])).toEqual([1]);
  });

  it('wraps peer datagrams in Data indications when no channel is bound', () => {
    const { core, client } = allocated();
    client.request(Method.CreatePermission, [peerAttr()]);
    const target = core.peerTarget(
      client.relayIds[0]!,
      PEER.address,
      PEER.port,
      new Uint8Array([9]),
    );
    expect(target && 'data' in target).toBe(true);
    if (!target || !('data' in target)) return;
    const msg = decodeMessage(target.data);
    expect(msg.method).toBe(Method.Data);
    expect(msg.get(xorPeerAddress)).toEqual(PEER);
    expect(msg.get(dataAttr)).toEqual(new Uint8Array([9]));
  });

  it('drops peer datagrams from addresses without a permission', () => {
    const { core } = allocated();
    expect(core.peerTarget(1, '203.0.114.99', 1, new Uint8Array([1]))).toBeUndefined();
  });

  it('requires an XOR-PEER-ADDRESS (400) and refuses special-purpose peers (403)', () => {
    const { client } = allocated({ peerPolicy: {} });
    expect(errorCodeOf(client.request(Method.CreatePermission, []))).toBe(400);
    for (const address of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '224.0.0.1']) {
      expect(
        errorCodeOf(
          client.request(Method.CreatePermission, [peerAttr({ family: 4, address, port: 1 })]),
        ),
      ).toBe(403);
    }
  });

  it('refuses the server itself outside the relay ports but allows another relay on it', () => {
    const { core, client } = allocated();
    const other = new ScenarioClient(core);
    other.relayPort = 50001;
    other.allocate();
    const own = (port: number) => peerAttr({ family: 4, address: '44.0.0.10', port });
    expect(
      errorCodeOf(client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), own(3478)])),
    ).toBe(403);
    expect(
      client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), own(50001)]).messageClass,
    ).toBe(MessageClass.SuccessResponse);
    sendIndication(client, { family: 4, address: '44.0.0.10', port: 8443 }, new Uint8Array([1]));
    // A port of the relay range that no relay of this server uses is another local program.
    sendIndication(client, { family: 4, address: '44.0.0.10', port: 50002 }, new Uint8Array([1]));
    expect(client.peerSends).toHaveLength(0);
  });

  it('answers 437 for CreatePermission without an allocation', () => {
    const { core } = makeCore();
    expect(
      errorCodeOf(new ScenarioClient(core).request(Method.CreatePermission, [peerAttr()])),
    ).toBe(437);
  });

  it('answers 443 for a peer of another address family', () => {
    const { client } = allocated();
    expect(
      errorCodeOf(
        client.request(Method.CreatePermission, [
          peerAttr({ family: 6, address: '2001:db9::1', port: 1 }),
        ]),
      ),
    ).toBe(443);
  });
});

describe('ChannelBind and ChannelData (RFC 8656 §12)', () => {
  it('relays on a channel again once its lapsed permission is installed anew (RFC 8656 §12.1)', () => {
    const { core, clock, client } = allocated();
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    clock.advance(300_000); // the permission lapses; the channel (600 s) does not
    core.handleTimeout(); // and the sweep drops the permission
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([1]), false));
    client.request(Method.CreatePermission, [peerAttr()]);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([2]), false));
    expect(client.peerSends.map((p) => p.data[0])).toEqual([2]);
  });

  it('binds a channel; ChannelData goes to the peer and peer data comes back as ChannelData', () => {
    const { core, client } = allocated();
    expect(
      client.request(Method.ChannelBind, [attr(channelNumber, 0x4001), peerAttr()]).messageClass,
    ).toBe(MessageClass.SuccessResponse);
    client.sendRaw(encodeChannelData(0x4001, new Uint8Array([5, 6]), false));
    expect(client.peerSends).toEqual([
      { data: new Uint8Array([5, 6]), port: PEER.port, address: PEER.address },
    ]);
    const back = core.peerTarget(client.relayIds[0]!, PEER.address, PEER.port, new Uint8Array([7]));
    expect(back && 'channelNumber' in back ? back.channelNumber : undefined).toBe(0x4001);
    expect(core.stats.packetsToPeer[0]).toBe(1);
    expect(core.stats.bytesToClient[0]).toBe(1);
  });

  it.each([
    ['a channel number below 0x4000', 0x3fff],
    ['a channel number above 0x7fff', 0x8000],
  ])('rejects %s with 400', (_name, number) => {
    const { client } = allocated();
    expect(
      errorCodeOf(client.request(Method.ChannelBind, [attr(channelNumber, number), peerAttr()])),
    ).toBe(400);
  });

  it('rejects rebinding a channel to another peer, or a peer to another channel (400)', () => {
    const { client } = allocated();
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    expect(
      errorCodeOf(
        client.request(Method.ChannelBind, [
          attr(channelNumber, 0x4000),
          peerAttr({ ...PEER, port: 1 }),
        ]),
      ),
    ).toBe(400);
    expect(
      errorCodeOf(client.request(Method.ChannelBind, [attr(channelNumber, 0x4002), peerAttr()])),
    ).toBe(400);
    expect(
      client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]).messageClass,
    ).toBe(MessageClass.SuccessResponse);
  });

  it('drops ChannelData on an unbound channel and after the binding expires (600 s)', () => {
    const { core, clock, client } = allocated({ maxLifetimeS: 3600 });
    client.request(Method.Refresh, [attr(lifetime, 3600)]);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([1]), false));
    expect(core.stats.ignored.get('no-channel')).toBe(1);
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    clock.advance(299_000);
    client.request(Method.CreatePermission, [peerAttr()]); // keep the permission alive
    clock.advance(250_000);
    client.request(Method.CreatePermission, [peerAttr()]);
    clock.advance(50_999);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([2]), false));
    clock.advance(1);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([3]), false));
    expect(client.peerSends.map((s) => s.data[0])).toEqual([2]);
  });

  it('caps bandwidth per allocation (--max-bps)', () => {
    const { core, client } = allocated({ maxBps: 1000 });
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    for (let i = 0; i < 5; i++)
      client.sendRaw(encodeChannelData(0x4000, new Uint8Array(400), false));
    expect(client.peerSends).toHaveLength(2);
    expect(core.stats.ignored.get('bandwidth-exceeded')).toBe(3);
  });
});

describe('robustness', () => {
  it('drops malformed packets, counting them', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.sendRaw(new Uint8Array([0, 1, 0, 4, 0x21, 0x12]));
    client.sendRaw(new Uint8Array([0x40, 0, 0, 9, 1]));
    expect(client.received.messages).toHaveLength(0);
    expect(core.stats.ignored.get('malformed')).toBe(1);
  });

  it('silently discards a request with an unsupported method (RFC 8489 §6.3)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.sendRaw(client.build(0x0ff, [], { signed: false }));
    expect(client.received.messages).toHaveLength(0);
    expect(core.stats.ignored.get('unsupported-method')).toBe(1);
  });

  it('silently discards a message whose FINGERPRINT is wrong', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const request = client.build(Method.Binding, [], { signed: false });
    request[request.length - 1] = (request[request.length - 1] ?? 0) ^ 0xff;
    client.sendRaw(request);
    expect(client.received.messages).toHaveLength(0);
    expect(core.stats.ignored.get('bad-fingerprint')).toBe(1);
  });

  it('signs the 400 for a malformed attribute found after authentication', () => {
    const { client } = allocated();
    const badChannel: AttributeEntry = {
      type: AttrType.ChannelNumber,
      encode: () => new Uint8Array(3),
    };
    const response = client.request(Method.ChannelBind, [badChannel, peerAttr()]);
    expect(errorCodeOf(response)).toBe(400);
    expect(response.has(AttrType.MessageIntegrity)).toBe(true);
  });

  it('ends a TCP client allocation when its connection closes', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core, { transport: 'tcp' });
    client.allocate();
    const actions = core.handleClientClosed(client.ref);
    expect(actions.map((a) => a.type)).toEqual(['close-relay', 'emit']);
    expect(core.allocationCount).toBe(0);
  });

  it('deletes everything on closeAll', () => {
    const { core, client } = allocated();
    expect(client).toBeDefined();
    expect(core.closeAll().filter((a) => a.type === 'close-relay')).toHaveLength(1);
    expect(core.allocationCount).toBe(0);
  });
});

describe('Refresh of a dual allocation (RFC 8656 §8)', () => {
  it('with LIFETIME 0 and REQUESTED-ADDRESS-FAMILY IPv6 deletes only the IPv6 relay', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.allocate([attr(additionalAddressFamily, 2)]);
    const response = client.request(Method.Refresh, [
      attr(lifetime, 0),
      attr(requestedAddressFamily, 2),
    ]);
    expect(response.get(lifetime)).toBe(0);
    expect(client.lastActions.filter((a) => a.type === 'close-relay')).toHaveLength(1);
    expect(core.allocationCount).toBe(1);
    expect(errorCodeOf(client.request(Method.Refresh, [attr(requestedAddressFamily, 2)]))).toBe(
      443,
    );
    expect(client.request(Method.Refresh, [attr(requestedAddressFamily, 1)]).get(lifetime)).toBe(
      600,
    );
  });

  it('answers 440 for an unknown REQUESTED-ADDRESS-FAMILY', () => {
    const { client } = allocated();
    expect(errorCodeOf(client.request(Method.Refresh, [attr(requestedAddressFamily, 9)]))).toBe(
      440,
    );
  });
});

describe('channel hold-down after expiry (RFC 8656 §12)', () => {
  it('keeps an expired channel number from another peer for 5 minutes, then frees it', () => {
    const { core, clock, client } = allocated({ maxLifetimeS: 3600 });
    client.request(Method.Refresh, [attr(lifetime, 3600)]);
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    const other = peerAttr({ ...PEER, port: 7000 });
    clock.advance(600_000);
    core.handleTimeout();
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([1]), false));
    expect(client.peerSends).toHaveLength(0);
    expect(
      errorCodeOf(client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), other])),
    ).toBe(400);
    clock.advance(300_000);
    core.handleTimeout();
    expect(
      client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), other]).messageClass,
    ).toBe(MessageClass.SuccessResponse);
  });

  it('lets the same peer bind the same number again during the hold', () => {
    const { clock, client } = allocated({ maxLifetimeS: 3600 });
    client.request(Method.Refresh, [attr(lifetime, 3600)]);
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]);
    clock.advance(600_000);
    expect(
      client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), peerAttr()]).messageClass,
    ).toBe(MessageClass.SuccessResponse);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array([2]), false));
    expect(client.peerSends.map((p) => p.data[0])).toEqual([2]);
  });
});
