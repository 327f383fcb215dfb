/**
 * Allocation state: relayed addresses, permissions and channel bindings of one client 5-tuple.
 * RFC 8656 §2.2 (allocations), §9 (permissions), §12 (channels).
 * A channel binding does not hold its permission: the permission of the peer IP is looked up at
 * use, so a lapsed and re-installed permission serves the binding again (RFC 8656 §12.1).
 *
 * ```
 *            Allocate (auth ok)            handleRelayBound
 *   (none) ────────────────────► pending ───────────────────► active ──┐ Refresh(lifetime>0)
 *                                   │ bind failed → 508          │  ▲───┘
 *                                   ▼                            │ Refresh(0) / expiry /
 *                                (none)                          ▼ TCP close / shutdown
 *                                                             deleted
 * ```
 * @module
 */
import type { TransportAddress } from '@cloudproxy/stun';
import type { Admission } from './hooks.js';
import type { ClientRef, RelayBinding } from './types.js';

/**
 * How long an expired channel binding keeps its number and peer from being bound to anything
 * else: 5 minutes. RFC 8656 §12.
 */
export const CHANNEL_HOLD_MS = 5 * 60_000;

/** Permission to exchange data with one peer IP address. RFC 8656 §9. */
export interface Permission {
  readonly ip: string;
  expiresAtMs: number;
  /**
   * The peer is one of the server's own addresses: only its relay ports may be reached (two
   * allocations on this server talking to each other), never its listeners or other services.
   */
  readonly relayPortsOnly: boolean;
}

/** A channel bound to one peer transport address. RFC 8656 §12. */
export interface ChannelBinding {
  readonly channelNumber: number;
  readonly peer: TransportAddress;
  readonly relay: RelayBinding;
  readonly allocation: Allocation;
  expiresAtMs: number;
}

/** Allocation is the server-side state of one client 5-tuple. */
export class Allocation {
  readonly client: ClientRef;
  readonly username: string;
  readonly quotaUser: string;
  readonly createdAtMs: number;
  /** One relay, or two for a dual allocation (one may be removed by a Refresh, RFC 8656 §8). */
  relays: readonly RelayBinding[];
  expiresAtMs: number;
  /** Transaction of the Allocate that created it, and the success response sent (RFC 8656 §7.2 retransmissions). */
  readonly allocateTransactionKey: string;
  readonly allocateResponse: Uint8Array;
  /** Permissions by peer IP text. */
  readonly permissions = new Map<string, Permission>();
  /** Channel bindings by number (0x4000-0x4FFF). */
  readonly channels = new Map<number, ChannelBinding>();
  /** Channel bindings by peer: IP text → port → binding. */
  readonly channelsByPeer = new Map<string, Map<number, ChannelBinding>>();
  bytesFromClient = 0;
  bytesToClient = 0;
  /** The control plane's admission, released when the allocation ends. */
  readonly admission: Admission | undefined;
  /** Bandwidth cap in bytes per second; 0 = none (--max-bps and the admission's cap). */
  readonly maxBps: number;
  /** Bandwidth token bucket (bytes) and when it was last refilled. */
  tokens = 0;
  tokensAtMs = 0;

  constructor(init: {
    client: ClientRef;
    username: string;
    quotaUser: string;
    nowMs: number;
    lifetimeS: number;
    relays: readonly RelayBinding[];
    allocateTransactionKey: string;
    allocateResponse: Uint8Array;
    admission: Admission | undefined;
    maxBps: number;
  }) {
    this.client = init.client;
    this.username = init.username;
    this.quotaUser = init.quotaUser;
    this.createdAtMs = init.nowMs;
    this.tokensAtMs = init.nowMs;
    this.expiresAtMs = init.nowMs + init.lifetimeS * 1000;
    this.relays = init.relays;
    this.allocateTransactionKey = init.allocateTransactionKey;
    this.allocateResponse = init.allocateResponse;
    this.admission = init.admission;
    this.maxBps = init.maxBps;
    this.tokens = init.maxBps;
  }

  /** The relay of the given family, if the allocation has one. */
  relayFor(family: 4 | 6): RelayBinding | undefined {
    return this.relays.find((r) => r.local.family === family);
  }

  /** The live permission for `ip` at `nowMs`, if any. */
  permissionFor(ip: string, nowMs: number): Permission | undefined {
    const permission = this.permissions.get(ip);
    return permission && permission.expiresAtMs > nowMs ? permission : undefined;
  }

  /** Installs or refreshes the permission for `ip`. RFC 8656 §9, §10.2. */
  installPermission(ip: string, expiresAtMs: number, relayPortsOnly: boolean): Permission {
    let permission = this.permissions.get(ip);
    if (permission) permission.expiresAtMs = expiresAtMs;
    else {
      permission = { ip, expiresAtMs, relayPortsOnly };
      this.permissions.set(ip, permission);
    }
    return permission;
  }

  /** The live channel binding for a peer transport address, if any. */
  channelForPeer(ip: string, port: number, nowMs: number): ChannelBinding | undefined {
    const binding = this.channelsByPeer.get(ip)?.get(port);
    return binding && binding.expiresAtMs > nowMs ? binding : undefined;
  }

  /** Adds a channel binding to both indexes. */
  addChannel(binding: ChannelBinding): void {
    this.channels.set(binding.channelNumber, binding);
    let ports = this.channelsByPeer.get(binding.peer.address);
    if (!ports) {
      ports = new Map();
      this.channelsByPeer.set(binding.peer.address, ports);
    }
    ports.set(binding.peer.port, binding);
  }

  /** Removes a channel binding from both indexes. */
  removeChannel(binding: ChannelBinding): void {
    this.channels.delete(binding.channelNumber);
    const ports = this.channelsByPeer.get(binding.peer.address);
    ports?.delete(binding.peer.port);
    if (ports?.size === 0) this.channelsByPeer.delete(binding.peer.address);
  }

  /**
   * Drops expired permissions and channels (RFC 8656 §9, §12: they are not refreshed by data) and
   * returns the earliest remaining deadline, including the allocation's own expiry.
   */
  sweep(nowMs: number): number {
    let next = this.expiresAtMs;
    for (const [ip, permission] of this.permissions) {
      if (permission.expiresAtMs <= nowMs) this.permissions.delete(ip);
      else if (permission.expiresAtMs < next) next = permission.expiresAtMs;
    }
    for (const binding of this.channels.values()) {
      // An expired binding relays nothing but stays for CHANNEL_HOLD_MS, so that neither its
      // number nor its peer can be bound to something else meanwhile (RFC 8656 §12).
      const releaseAtMs = binding.expiresAtMs + CHANNEL_HOLD_MS;
      if (releaseAtMs <= nowMs) this.removeChannel(binding);
      else {
        const due = binding.expiresAtMs > nowMs ? binding.expiresAtMs : releaseAtMs;
        if (due < next) next = due;
      }
    }
    return next;
  }
}
