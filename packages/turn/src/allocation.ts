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

/** What an allocation without permissions or channels shows: shared, never written. */
const NONE: ReadonlyMap<never, never> = new Map<never, never>();

/**
 * Allocation is the server-side state of one client 5-tuple. An idle allocation is small: its
 * permission and channel tables are created with the first entry, and the Allocate response kept
 * for retransmissions is one byte per character of a string instead of a buffer.
 */
export class Allocation {
  readonly client: ClientRef;
  readonly username: string;
  readonly quotaUser: string;
  readonly createdAtMs: number;
  /** One relay, or two for a dual allocation (one may be removed by a Refresh, RFC 8656 §8). */
  relays: readonly RelayBinding[];
  expiresAtMs: number;
  /** The success response sent to the Allocate, one byte per char (RFC 8656 §7.2 retransmissions). */
  readonly #response: string;
  #permissions: Map<string, Permission> | undefined;
  #channels: Map<number, ChannelBinding> | undefined;
  #channelsByPeer: Map<string, Map<number, ChannelBinding>> | undefined;
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
    this.#response = String.fromCharCode(...init.allocateResponse);
    this.admission = init.admission;
    this.maxBps = init.maxBps;
    this.tokens = init.maxBps;
  }

  /** The success response sent to the Allocate that created it (RFC 8656 §7.2 retransmissions). */
  get allocateResponse(): Uint8Array {
    const response = this.#response;
    const bytes = new Uint8Array(response.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = response.charCodeAt(i);
    return bytes;
  }

  /**
   * Transaction of the Allocate that created it: the transaction ID of its response (bytes 8-19
   * of the STUN header), as `StunMessage.transactionKey` writes it (lowercase hex).
   */
  get allocateTransactionKey(): string {
    let key = '';
    for (let i = 8; i < 20; i++) key += this.#response.charCodeAt(i).toString(16).padStart(2, '0');
    return key;
  }

  /** Permissions by peer IP text. */
  get permissions(): ReadonlyMap<string, Permission> {
    return this.#permissions ?? NONE;
  }

  /** Channel bindings by number (0x4000-0x4FFF). */
  get channels(): ReadonlyMap<number, ChannelBinding> {
    return this.#channels ?? NONE;
  }

  /** Channel bindings by peer: IP text → port → binding. */
  get channelsByPeer(): ReadonlyMap<string, ReadonlyMap<number, ChannelBinding>> {
    return this.#channelsByPeer ?? NONE;
  }

  /** The relay of the given family, if the allocation has one. */
  relayFor(family: 4 | 6): RelayBinding | undefined {
    return this.relays.find((r) => r.local.family === family);
  }

  /** The live permission for `ip` at `nowMs`, if any. */
  permissionFor(ip: string, nowMs: number): Permission | undefined {
    const permission = this.#permissions?.get(ip);
    return permission && permission.expiresAtMs > nowMs ? permission : undefined;
  }

  /** Installs or refreshes the permission for `ip`. RFC 8656 §9, §10.2. */
  installPermission(ip: string, expiresAtMs: number, relayPortsOnly: boolean): Permission {
    const permissions = (this.#permissions ??= new Map<string, Permission>());
    let permission = permissions.get(ip);
    if (permission) permission.expiresAtMs = expiresAtMs;
    else {
      permission = { ip, expiresAtMs, relayPortsOnly };
      permissions.set(ip, permission);
    }
    return permission;
  }

  /** The live channel binding for a peer transport address, if any. */
  channelForPeer(ip: string, port: number, nowMs: number): ChannelBinding | undefined {
    const binding = this.#channelsByPeer?.get(ip)?.get(port);
    return binding && binding.expiresAtMs > nowMs ? binding : undefined;
  }

  /** Adds a channel binding to both indexes. */
  addChannel(binding: ChannelBinding): void {
    (this.#channels ??= new Map<number, ChannelBinding>()).set(binding.channelNumber, binding);
    const byPeer = (this.#channelsByPeer ??= new Map<string, Map<number, ChannelBinding>>());
    let ports = byPeer.get(binding.peer.address);
    if (!ports) {
      ports = new Map();
      byPeer.set(binding.peer.address, ports);
    }
    ports.set(binding.peer.port, binding);
  }

  /** Removes a channel binding from both indexes. */
  removeChannel(binding: ChannelBinding): void {
    const channels = this.#channels;
    const byPeer = this.#channelsByPeer;
    if (!channels || !byPeer) return;
    channels.delete(binding.channelNumber);
    const ports = byPeer.get(binding.peer.address);
    ports?.delete(binding.peer.port);
    if (ports?.size === 0) byPeer.delete(binding.peer.address);
    // The last binding gone: back to the idle allocation's shape (no tables).
    if (channels.size === 0) {
      this.#channels = undefined;
      this.#channelsByPeer = undefined;
    }
  }

  /**
   * Drops expired permissions and channels (RFC 8656 §9, §12: they are not refreshed by data) and
   * returns the earliest remaining deadline, including the allocation's own expiry.
   */
  sweep(nowMs: number): number {
    let next = this.expiresAtMs;
    const permissions = this.#permissions;
    if (permissions) {
      for (const [ip, permission] of permissions) {
        if (permission.expiresAtMs <= nowMs) permissions.delete(ip);
        else if (permission.expiresAtMs < next) next = permission.expiresAtMs;
      }
      if (permissions.size === 0) this.#permissions = undefined;
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
