/**
 * Allocation: the compact idle form (tables created on first use and dropped when empty, the
 * Allocate response kept as a string) behaves as the plain tables did.
 * @module
 */
import { describe, expect, it } from 'vitest';
import { Allocation, CHANNEL_HOLD_MS } from './allocation.js';
import type { ClientRef, RelayBinding } from './types.js';

const sink = { send: () => undefined, sendChannelData: () => undefined };
const client: ClientRef = {
  key: 'u0|192.0.2.1|5000',
  transport: 'udp',
  remote: { family: 4, address: '192.0.2.1', port: 5000 },
  local: { family: 4, address: '192.0.2.254', port: 3478 },
  sink,
};
const relay: RelayBinding = {
  relayId: 1,
  local: { family: 4, address: '192.0.2.254', port: 50000 },
  advertised: { family: 4, address: '192.0.2.254', port: 50000 },
  sink: { send: () => undefined },
};

function allocation(response: Uint8Array = new Uint8Array(20)): Allocation {
  return new Allocation({
    client,
    username: 'alice',
    quotaUser: 'alice',
    nowMs: 1000,
    lifetimeS: 600,
    relays: [relay],
    allocateResponse: response,
    admission: undefined,
    maxBps: 0,
  });
}

describe('Allocation', () => {
  it('gives back the Allocate response byte for byte, and its transaction id as hex', () => {
    const response = new Uint8Array(64);
    for (let i = 0; i < response.length; i++) response[i] = (i * 37 + 200) & 0xff;
    const a = allocation(response);
    expect(a.allocateResponse).toEqual(response);
    const id = Array.from(response.subarray(8, 20), (b) => b.toString(16).padStart(2, '0'));
    expect(a.allocateTransactionKey).toBe(id.join(''));
  });

  it('shows empty tables while idle and keeps permissions until they expire', () => {
    const a = allocation();
    expect(a.permissions.size).toBe(0);
    expect(a.channels.size).toBe(0);
    expect(a.permissionFor('198.51.100.1', 1000)).toBeUndefined();
    a.installPermission('198.51.100.1', 5000, false);
    expect(a.permissionFor('198.51.100.1', 2000)?.expiresAtMs).toBe(5000);
    a.installPermission('198.51.100.1', 9000, false);
    expect(a.permissions.size).toBe(1);
    expect(a.sweep(6000)).toBe(9000);
    expect(a.sweep(9000)).toBe(a.expiresAtMs);
    expect(a.permissions.size).toBe(0);
    a.installPermission('198.51.100.2', 20_000, true);
    expect(a.permissionFor('198.51.100.2', 10_000)?.relayPortsOnly).toBe(true);
  });

  it('indexes channels by number and by peer, and releases them after the hold', () => {
    const a = allocation();
    const peer = { family: 4 as const, address: '198.51.100.1', port: 7000 };
    const binding = { channelNumber: 0x4001, peer, relay, allocation: a, expiresAtMs: 5000 };
    a.addChannel(binding);
    expect(a.channels.get(0x4001)).toBe(binding);
    expect(a.channelsByPeer.get(peer.address)?.get(peer.port)).toBe(binding);
    expect(a.channelForPeer(peer.address, peer.port, 4000)).toBe(binding);
    expect(a.channelForPeer(peer.address, peer.port, 5000)).toBeUndefined();
    expect(a.sweep(5000)).toBe(5000 + CHANNEL_HOLD_MS);
    expect(a.channels.size).toBe(1);
    a.sweep(5000 + CHANNEL_HOLD_MS);
    expect(a.channels.size).toBe(0);
    expect(a.channelsByPeer.size).toBe(0);
    a.removeChannel(binding);
    a.addChannel({ ...binding, expiresAtMs: 900_000 });
    expect(a.channels.size).toBe(1);
  });
});
