import {
  MessageClass,
  Method,
  attr,
  channelNumber,
  encodeChannelData,
  lifetime,
  requestedTransport,
  xorPeerAddress,
} from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { describe, expect, it } from 'vitest';
import { restPassword } from '../src/auth.js';
import type { AllocationRequestInfo, AllocationUsage, RelayHooks } from '../src/hooks.js';
import { ScenarioClient, errorCodeOf, makeCore } from './scenario.js';

const PEER = { family: 4 as const, address: '203.0.114.5', port: 6000 };

/** Hooks that record calls and admit by a rule. */
function recordingHooks(
  rule: (r: AllocationRequestInfo) => ReturnType<Required<RelayHooks>['admit']>,
) {
  const admitted: AllocationRequestInfo[] = [];
  const released: { request: AllocationRequestInfo; usage: AllocationUsage }[] = [];
  const hooks: RelayHooks = {
    admit: (request) => {
      const decision = rule(request);
      if (decision.allow) admitted.push(request);
      return decision;
    },
    release: (request, usage) => released.push({ request, usage }),
  };
  return { hooks, admitted, released };
}

function restClient(core: ScenarioClient['core'], secret: string, user: string): ScenarioClient {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:${user}`;
  return new ScenarioClient(core, {
    username,
    password: restPassword(secret, username, nodeStunCrypto),
  });
}

describe('RelayHooks', () => {
  it('refuses an Allocate with the code and reason of the admission hook', () => {
    const { core } = makeCore();
    const rec = recordingHooks(() => ({ allow: false, code: 486, reason: 'channel full' }));
    core.setHooks(rec.hooks);
    const client = new ScenarioClient(core);
    const response = client.allocate();
    expect(errorCodeOf(response)).toBe(486);
    expect(core.allocationCount).toBe(0);
    expect(rec.released).toHaveLength(0);
  });

  it('releases every admitted allocation exactly once, with the bytes it relayed', () => {
    const { core, clock } = makeCore();
    const rec = recordingHooks(() => ({ allow: true }));
    core.setHooks(rec.hooks);
    const client = new ScenarioClient(core);
    expect(client.allocate().messageClass).toBe(MessageClass.SuccessResponse);
    expect(rec.admitted[0]).toMatchObject({ username: 'alice', transport: 'udp' });
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), attr(xorPeerAddress, PEER)]);
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array(100), false));
    client.sendRaw(encodeChannelData(0x4000, new Uint8Array(60), false));
    const [listed] = core.listAllocations();
    expect(listed).toMatchObject({ username: 'alice', bytesFromClient: 160, channels: 1 });
    clock.advance(5_000);
    client.request(Method.Refresh, [attr(lifetime, 0)]);
    expect(rec.released).toHaveLength(1);
    expect(rec.released[0]?.usage).toEqual({
      bytesFromClient: 160,
      bytesToClient: 0,
      durationMs: 5_000,
    });
    core.closeAll();
    expect(rec.released).toHaveLength(1);
  });

  it('releases with zero usage when the relay cannot be bound or the client leaves first', () => {
    const { core } = makeCore();
    const rec = recordingHooks(() => ({ allow: true }));
    core.setHooks(rec.hooks);
    const failing = new ScenarioClient(core);
    failing.autoBind = false;
    failing.prime();
    failing.sendRaw(failing.build(Method.Allocate, [attr(requestedTransport, 17)]));
    const open = failing.lastActions.find((a) => a.type === 'open-relay');
    if (open?.type !== 'open-relay') throw new Error('no open-relay');
    core.handleRelayBound({
      requestId: open.request.requestId,
      relays: [],
      unsupportedFamilies: [],
      reserved: undefined,
      insufficientCapacity: true,
    });
    const leaving = new ScenarioClient(core, { transport: 'tcp' });
    leaving.autoBind = false;
    leaving.prime();
    leaving.sendRaw(leaving.build(Method.Allocate, [attr(requestedTransport, 17)]));
    core.handleClientClosed(leaving.ref);
    expect(rec.released.map((r) => r.usage.bytesFromClient)).toEqual([0, 0]);
    expect(core.allocationCount).toBe(0);
  });

  it('caps an allocation at the bandwidth the admission gives', () => {
    const { core } = makeCore();
    core.setHooks({ admit: () => ({ allow: true, maxBps: 1000 }) });
    const client = new ScenarioClient(core);
    client.allocate();
    client.request(Method.ChannelBind, [attr(channelNumber, 0x4000), attr(xorPeerAddress, PEER)]);
    for (let i = 0; i < 5; i++)
      client.sendRaw(encodeChannelData(0x4000, new Uint8Array(400), false));
    // A 1000-byte bucket passes two 400-byte packets in the same instant, not five.
    expect(client.peerSends).toHaveLength(2);
  });

  it('revokes matching allocations, closing TCP clients, and releases them', () => {
    const { core } = makeCore();
    const rec = recordingHooks(() => ({ allow: true }));
    core.setHooks(rec.hooks);
    const alice = new ScenarioClient(core, { transport: 'tcp' });
    const bob = new ScenarioClient(core, { username: 'bob', password: 'builder' });
    alice.allocate();
    bob.allocate();
    const { out, ended } = core.revokeAllocations((u) => u === 'alice');
    expect(ended).toBe(1);
    expect(out.some((a) => a.type === 'close-client' && a.client === alice.ref)).toBe(true);
    expect(rec.released.map((r) => r.request.username)).toEqual(['alice']);
    expect(core.listAllocations().map((a) => a.username)).toEqual(['bob']);
  });

  it('authenticates REST usernames with the secrets the hook gives, across reloads', () => {
    const { core } = makeCore();
    core.setHooks({ restSecrets: (u) => (u.endsWith(':app1') ? ['app-secret'] : undefined) });
    expect(restClient(core, 'app-secret', 'app1').allocate().messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    // The server's own secret no longer signs for app1, but still for other users.
    expect(errorCodeOf(restClient(core, 'north', 'app1').allocate())).toBe(401);
    expect(restClient(core, 'north', 'other').allocate().messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    core.updateAuth({ staticAuthSecrets: ['north'] });
    expect(restClient(core, 'app-secret', 'app1').allocate().messageClass).toBe(
      MessageClass.SuccessResponse,
    );
  });
});
