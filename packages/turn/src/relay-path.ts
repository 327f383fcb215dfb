/**
 * The data path: Send indications and ChannelData from clients, UDP datagrams from peers.
 * RFC 8656 §11 (Send and Data), §12.5-12.6 (ChannelData). Runs per packet: no allocation of
 * objects beyond what the relay needs, no logging, no promises.
 * @module
 */
import {
  AttrType,
  MessageClass,
  Method,
  attr,
  data as dataAttr,
  encodeMessage,
  newTransactionId,
  xorPeerAddress,
} from '@cloudproxy/stun';
import type { StunMessage, TransportAddress } from '@cloudproxy/stun';
import type { Allocation, ChannelBinding } from './allocation.js';
import type { CoreState } from './core-state.js';
import { countKey } from './stats.js';
import { TRANSPORT_INDEX } from './types.js';
import type { ClientRef, IgnoreReason, TurnAction } from './types.js';

/** A Data indication to send to a client (peer data without a channel). RFC 8656 §11.3. */
export interface DataIndication {
  readonly client: ClientRef;
  readonly data: Uint8Array;
}

/** Takes `bytes` from the allocation's bandwidth budget; false when over --max-bps. */
function withinBandwidth(
  allocation: Allocation,
  bytes: number,
  nowMs: number,
  maxBps: number,
): boolean {
  if (maxBps === 0) return true;
  const refill = ((nowMs - allocation.tokensAtMs) * maxBps) / 1000;
  allocation.tokens = Math.min(maxBps, allocation.tokens + refill);
  allocation.tokensAtMs = nowMs;
  if (allocation.tokens < bytes) return false;
  allocation.tokens -= bytes;
  return true;
}

/** Counts a dropped packet. */
function drop(state: CoreState, reason: IgnoreReason): void {
  countKey(state.services.stats.ignored, reason);
}

/**
 * ChannelData from a client (RFC 8656 §12.6): returns the binding to forward the payload
 * through, or undefined when the channel is unbound, expired, without permission or over budget
 * (dropped and counted). `data` is the whole ChannelData message.
 */
export function relayChannelData(
  state: CoreState,
  clientKey: string,
  data: Uint8Array,
  nowMs: number,
): ChannelBinding | undefined {
  const allocation = state.allocations.get(clientKey);
  if (!allocation || allocation.expiresAtMs <= nowMs) {
    drop(state, 'no-allocation');
    return undefined;
  }
  if (data.length < 4) {
    drop(state, 'malformed');
    return undefined;
  }
  const length = ((data[2] ?? 0) << 8) | (data[3] ?? 0);
  if (length > data.length - 4) {
    drop(state, 'malformed');
    return undefined;
  }
  const binding = allocation.channels.get(((data[0] ?? 0) << 8) | (data[1] ?? 0));
  if (!binding || binding.expiresAtMs <= nowMs) {
    drop(state, 'no-channel');
    return undefined;
  }
  if (!allocation.permissionFor(binding.peer.address, nowMs)) {
    drop(state, 'no-permission');
    return undefined;
  }
  const { stats } = state.services;
  if (!withinBandwidth(allocation, length, nowMs, allocation.maxBps)) {
    {
      drop(state, 'bandwidth-exceeded');
      return undefined;
    }
  }
  const t = TRANSPORT_INDEX[allocation.client.transport];
  stats.bytesToPeer[t] += length;
  stats.packetsToPeer[t]++;
  allocation.bytesFromClient += length;
  return binding;
}

/**
 * A UDP datagram from a peer to relay `relayId` (RFC 8656 §11.3, §12.5): returns the channel
 * binding when the peer has one (send as ChannelData), a Data indication when it only has a
 * permission, or undefined (dropped: no permission).
 */
export function relayFromPeer(
  state: CoreState,
  relayId: number,
  peerAddress: string,
  peerPort: number,
  data: Uint8Array,
  nowMs: number,
): ChannelBinding | DataIndication | undefined {
  const allocation = state.byRelay.get(relayId);
  if (!allocation || allocation.expiresAtMs <= nowMs) {
    drop(state, 'no-allocation');
    return undefined;
  }
  if (!allocation.permissionFor(peerAddress, nowMs)) {
    drop(state, 'no-permission');
    return undefined;
  }
  const { stats } = state.services;
  if (!withinBandwidth(allocation, data.length, nowMs, allocation.maxBps)) {
    {
      drop(state, 'bandwidth-exceeded');
      return undefined;
    }
  }
  const t = TRANSPORT_INDEX[allocation.client.transport];
  stats.bytesToClient[t] += data.length;
  stats.packetsToClient[t]++;
  allocation.bytesToClient += data.length;
  const binding = allocation.channelForPeer(peerAddress, peerPort, nowMs);
  if (binding) return binding;
  const peer: TransportAddress = {
    family: peerAddress.includes(':') ? 6 : 4,
    address: peerAddress,
    port: peerPort,
  };
  const indication = encodeMessage({
    method: Method.Data,
    messageClass: MessageClass.Indication,
    transactionId: newTransactionId(),
    attributes: [attr(xorPeerAddress, peer), attr(dataAttr, data)],
  });
  return { client: allocation.client, data: indication };
}

/** A Send indication from a client (RFC 8656 §11.2): relays DATA to XOR-PEER-ADDRESS or drops it. */
export function handleSendIndication(
  state: CoreState,
  client: ClientRef,
  msg: StunMessage,
  nowMs: number,
  out: TurnAction[],
): void {
  const reason = sendIndicationTarget(state, client, msg, nowMs, out);
  if (reason) {
    countKey(state.services.stats.ignored, reason);
    out.push({ type: 'ignore', reason });
  }
}

function sendIndicationTarget(
  state: CoreState,
  client: ClientRef,
  msg: StunMessage,
  nowMs: number,
  out: TurnAction[],
): IgnoreReason | undefined {
  const allocation = state.liveAllocation(client.key, nowMs);
  if (!allocation) return 'no-allocation';
  if (msg.unknownRequired.length > 0) return 'unknown-attribute-in-indication';
  // RFC 8656 §11.2: DF cannot be honoured here, so the indication is discarded.
  if (msg.has(AttrType.DontFragment)) return 'dont-fragment-unsupported';
  const peer = msg.get(xorPeerAddress);
  const payload = msg.get(dataAttr);
  if (!peer || !payload) return 'malformed';
  const relay = allocation.relayFor(peer.family);
  if (!relay) return 'peer-denied';
  const permission = allocation.permissionFor(peer.address, nowMs);
  if (!permission) return 'no-permission';
  if (permission.relayPortsOnly && !state.isLiveRelayPort(peer.port)) return 'peer-denied';
  const { stats } = state.services;
  if (!withinBandwidth(allocation, payload.length, nowMs, allocation.maxBps)) {
    return 'bandwidth-exceeded';
  }
  const t = TRANSPORT_INDEX[allocation.client.transport];
  stats.bytesToPeer[t] += payload.length;
  stats.packetsToPeer[t]++;
  allocation.bytesFromClient += payload.length;
  out.push({ type: 'send-peer', relayId: relay.relayId, peer, data: payload });
  return undefined;
}
