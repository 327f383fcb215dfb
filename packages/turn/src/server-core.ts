/**
 * TurnServerCore: the Sans-IO TURN server. Inputs in, actions out; time comes from an injected
 * Clock and the driver owns the only timer (STYLE §5). RFC 8656.
 * @module
 */
import {
  MessageClass,
  Method,
  StunDecodeError,
  decodeMessage,
  isChannelData,
  verifyFingerprint,
} from '@cloudproxy/stun';
import type { StunCrypto, StunMessage } from '@cloudproxy/stun';
import type { Allocation, ChannelBinding } from './allocation.js';
import { Authenticator } from './auth.js';
import type { Clock } from './clock.js';
import { CoreState } from './core-state.js';
import { handleAllocate } from './handlers/allocate.js';
import { completeAllocation } from './handlers/allocate-complete.js';
import { handleBinding } from './handlers/binding.js';
import { handleChannelBind } from './handlers/channel-bind.js';
import { handleCreatePermission } from './handlers/create-permission.js';
import { handleRefresh } from './handlers/refresh.js';
import type { AllocationSnapshot, RelayHooks } from './hooks.js';
import { NonceIssuer } from './nonce.js';
import type { AuthOptions, TurnCoreOptions } from './options.js';
import { resolveCoreOptions } from './options-resolve.js';
import type { ResolvedAuthOptions, ResolvedCoreOptions } from './options-resolve.js';
import { createPeerPolicy } from './peer-policy/peer-policy.js';
import { RateLimiter } from './rate-limiter.js';
import { handleSendIndication, relayChannelData, relayFromPeer } from './relay-path.js';
import type { DataIndication } from './relay-path.js';
import { RequestContext } from './request-context.js';
import { countKey, createStats } from './stats.js';
import type { TurnStats } from './stats.js';
import type { ClientRef, IgnoreReason, RelayBoundResult, TurnAction } from './types.js';
import { TRANSPORT_INDEX } from './types.js';

/** Dependencies of the core: the clocks and the hash primitives. */
export interface TurnCoreDeps {
  /** Time for every deadline the core keeps; the Node driver passes `monotonicClock`. */
  readonly clock: Clock;
  /**
   * Wall time, for the expiry in TURN REST usernames only (another machine wrote it in Unix
   * time). Default: `clock`, which suits a FakeClock in tests.
   */
  readonly wallClock?: Clock | undefined;
  readonly crypto: StunCrypto;
}

/** TurnServerCore holds every allocation and answers every packet; it performs no I/O. */
export class TurnServerCore {
  readonly options: ResolvedCoreOptions;
  readonly stats: TurnStats = createStats();
  readonly #clock: Clock;
  readonly #wallClock: Clock;
  readonly #crypto: StunCrypto;
  readonly #state: CoreState;
  readonly #authLimiter: RateLimiter;

  constructor(options: TurnCoreOptions, deps: TurnCoreDeps) {
    this.options = resolveCoreOptions(options);
    this.#clock = deps.clock;
    this.#wallClock = deps.wallClock ?? deps.clock;
    this.#crypto = deps.crypto;
    const nonces = new NonceIssuer({
      secret: this.options.nonceSecret,
      lifetimeS: this.options.nonceLifetimeS,
      crypto: deps.crypto,
    });
    const services = { options: this.options, crypto: deps.crypto, nonces, stats: this.stats };
    this.#state = new CoreState(
      services,
      this.#authenticator(this.options.auth),
      createPeerPolicy(this.options.peerPolicy),
    );
    this.#authLimiter = new RateLimiter(this.options.authRejectRatePerS);
  }

  /** Number of live and pending allocations. */
  get allocationCount(): number {
    return this.#state.allocationCount;
  }

  /**
   * Adds the server's own addresses and sets the relay port range: a peer on an own address may only
   * be another relay (a port in the range), never a listener or another local service.
   */
  setOwnAddresses(addresses: readonly string[], relayPorts: { min: number; max: number }): void {
    for (const address of addresses) this.#state.peerPolicy.addOwnAddress(address);
    this.#state.relayPorts = relayPorts;
  }

  /** Stops (true) or resumes new allocations; existing ones are served either way. */
  setDraining(draining: boolean): void {
    this.#state.draining = draining;
  }

  /** Replaces users and secrets (SIGHUP); live allocations keep the key they were created with. */
  updateAuth(auth: AuthOptions): void {
    const authenticator = this.#authenticator(auth);
    authenticator.restSecrets = this.#state.auth.restSecrets;
    this.#state.auth = authenticator;
  }

  /** Installs the control plane's hooks (replacing earlier ones). */
  setHooks(hooks: RelayHooks): void {
    this.#state.hooks = hooks;
    this.#state.auth.restSecrets = hooks.restSecrets?.bind(hooks);
  }

  /** Live allocations at this instant, with the bytes relayed so far. */
  listAllocations(): AllocationSnapshot[] {
    const nowMs = this.#clock.nowMs();
    const list: AllocationSnapshot[] = [];
    for (const allocation of this.#state.allocations.values()) {
      if (allocation.expiresAtMs > nowMs) list.push(snapshot(allocation, nowMs));
    }
    return list;
  }

  /**
   * Ends every allocation whose username matches (revoked credentials): relays close at once, and
   * a TCP/TLS client's connection closes with it. Returns the actions and how many ended.
   */
  revokeAllocations(match: (username: string) => boolean): { out: TurnAction[]; ended: number } {
    const out: TurnAction[] = [];
    const nowMs = this.#clock.nowMs();
    let ended = 0;
    for (const allocation of [...this.#state.allocations.values()]) {
      if (!match(allocation.username)) continue;
      this.#state.deleteAllocation(allocation, 'revoked', nowMs, out);
      if (allocation.client.transport !== 'udp')
        out.push({ type: 'close-client', client: allocation.client });
      ended++;
    }
    return { out, ended };
  }

  /** A packet from a client: a STUN message or ChannelData (any transport). */
  handleClientPacket(client: ClientRef, data: Uint8Array): TurnAction[] {
    const out: TurnAction[] = [];
    const nowMs = this.#clock.nowMs();
    if (isChannelData(data)) {
      const binding = relayChannelData(this.#state, client.key, data, nowMs);
      if (binding) {
        const length = ((data[2] ?? 0) << 8) | (data[3] ?? 0);
        out.push({
          type: 'send-peer',
          relayId: binding.relay.relayId,
          peer: binding.peer,
          data: data.subarray(4, 4 + length),
        });
      }
      return out;
    }
    let msg: StunMessage;
    try {
      msg = decodeMessage(data);
    } catch (error) {
      if (!(error instanceof StunDecodeError)) throw error;
      return this.#ignore(out, 'malformed');
    }
    // RFC 8489 §6.3: a message whose FINGERPRINT is wrong is silently discarded.
    if (verifyFingerprint(msg) === false) return this.#ignore(out, 'bad-fingerprint');
    const ctx =
      msg.messageClass === MessageClass.Request
        ? this.#context(client, msg, nowMs, out)
        : undefined;
    try {
      this.#dispatch(client, msg, nowMs, out, ctx);
    } catch (error) {
      // A malformed attribute surfaces lazily while handling: answer 400 to requests (signed when
      // the request was already authenticated, RFC 8489 §9.2.4), drop anything else.
      if (!(error instanceof StunDecodeError)) throw error;
      out.length = 0;
      if (!ctx) return this.#ignore(out, 'malformed');
      countKey(this.stats.ignored, 'malformed');
      ctx.reject(400, error.message, { signer: ctx.signer });
    }
    return out;
  }

  /**
   * Hot path for ChannelData from a client: the binding to forward through, or undefined (dropped
   * and counted). The driver sends `data[4 .. 4+length)` through `binding.relay` to `binding.peer`.
   */
  channelTarget(clientKey: string, data: Uint8Array): ChannelBinding | undefined {
    return relayChannelData(this.#state, clientKey, data, this.#clock.nowMs());
  }

  /** Hot path for a datagram from a peer: a channel binding, a Data indication, or undefined. */
  peerTarget(
    relayId: number,
    peerAddress: string,
    peerPort: number,
    data: Uint8Array,
  ): ChannelBinding | DataIndication | undefined {
    return relayFromPeer(this.#state, relayId, peerAddress, peerPort, data, this.#clock.nowMs());
  }

  /** Whether the client key has a live allocation (lets the driver keep its fast-path tables). */
  hasAllocation(clientKey: string): boolean {
    return this.#state.liveAllocation(clientKey, this.#clock.nowMs()) !== undefined;
  }

  /**
   * The live allocation of a client, read-only: the native data plane mirrors its relays,
   * permissions and channels into its forwarding table after each request of the client.
   */
  liveAllocation(clientKey: string): Readonly<Allocation> | undefined {
    return this.#state.liveAllocation(clientKey, this.#clock.nowMs());
  }

  /**
   * Adds what a UDP client's allocation relayed outside the core (the native data plane) to its
   * byte counters (usage) and to the server's (metrics). Unknown clients count in the server's.
   */
  addRelayedCounts(
    clientKey: string,
    c: {
      fromClientBytes: number;
      fromClientPackets: number;
      toClientBytes: number;
      toClientPackets: number;
    },
    transport: 'udp' | 'tcp' | 'tls' = 'udp',
  ): void {
    const allocation = this.#state.allocations.get(clientKey);
    if (allocation) {
      allocation.bytesFromClient += c.fromClientBytes;
      allocation.bytesToClient += c.toClientBytes;
    }
    const t = TRANSPORT_INDEX[transport]; // the native plane serves UDP, TCP and TLS clients
    this.stats.bytesToPeer[t] += c.fromClientBytes;
    this.stats.packetsToPeer[t] += c.fromClientPackets;
    this.stats.bytesToClient[t] += c.toClientBytes;
    this.stats.packetsToClient[t] += c.toClientPackets;
  }

  /** The driver bound (or failed to bind) the relay sockets of a pending Allocate. */
  handleRelayBound(result: RelayBoundResult): TurnAction[] {
    const out: TurnAction[] = [];
    const pending = this.#state.pendingById.get(result.requestId);
    if (!pending) {
      // The client went away meanwhile: give the sockets back.
      for (const relay of result.relays) out.push({ type: 'close-relay', relayId: relay.relayId });
      if (result.reserved) out.push({ type: 'close-relay', relayId: result.reserved.relayId });
      return out;
    }
    const nowMs = this.#clock.nowMs();
    const ctx = this.#context(pending.client, decodeMessage(pending.request), nowMs, out);
    if (result.insufficientCapacity || result.relays.length === 0) {
      this.#state.dropPending(pending);
      for (const relay of result.relays) out.push({ type: 'close-relay', relayId: relay.relayId });
      if (result.insufficientCapacity)
        ctx.reject(508, 'no relay port available', { signer: pending.auth });
      else ctx.reject(440, 'address family not served', { signer: pending.auth });
      return out;
    }
    this.#state.pending.delete(pending.client.key);
    this.#state.pendingById.delete(pending.requestId);
    completeAllocation(this.#state, {
      ctx,
      admission: pending.admission,
      auth: pending.auth,
      lifetimeS: pending.lifetimeS,
      relays: result.relays,
      failedFamilies: result.unsupportedFamilies,
      reserved: result.reserved,
    });
    return out;
  }

  /** A TCP/TLS client connection closed: its allocation ends (RFC 8656 §3.1). */
  handleClientClosed(client: ClientRef): TurnAction[] {
    const out: TurnAction[] = [];
    const allocation = this.#state.allocations.get(client.key);
    if (allocation)
      this.#state.deleteAllocation(allocation, 'client-closed', this.#clock.nowMs(), out);
    const pending = this.#state.pending.get(client.key);
    if (pending) this.#state.dropPending(pending);
    return out;
  }

  /**
   * The core's current time (its injected clock): the driver arms its timer for
   * `nextDeadlineMs() - nowMs()`, never against another clock.
   */
  nowMs(): number {
    return this.#clock.nowMs();
  }

  /** When the driver's timer should next call handleTimeout, or undefined for never. */
  nextDeadlineMs(): number | undefined {
    return this.#state.nextDeadlineMs;
  }

  /** Expires allocations, permissions, channels and reservations due by now. */
  handleTimeout(): TurnAction[] {
    const out: TurnAction[] = [];
    const state = this.#state;
    const nowMs = this.#clock.nowMs();
    state.nextDeadlineMs = undefined;
    for (const allocation of state.allocations.values()) {
      if (allocation.expiresAtMs <= nowMs) {
        state.deleteAllocation(allocation, 'expired', nowMs, out);
        if (allocation.client.transport !== 'udp')
          out.push({ type: 'close-client', client: allocation.client });
      } else state.noteDeadline(allocation.sweep(nowMs));
    }
    for (const [token, reservation] of state.reservations) {
      if (reservation.expiresAtMs <= nowMs) {
        state.reservations.delete(token);
        out.push({ type: 'close-relay', relayId: reservation.relay.relayId });
      } else state.noteDeadline(reservation.expiresAtMs);
    }
    this.#authLimiter.sweep(nowMs);
    return out;
  }

  /** Deletes every allocation and reservation (shutdown). */
  closeAll(): TurnAction[] {
    const out: TurnAction[] = [];
    const nowMs = this.#clock.nowMs();
    for (const allocation of [...this.#state.allocations.values()]) {
      this.#state.deleteAllocation(allocation, 'shutdown', nowMs, out);
    }
    for (const reservation of this.#state.reservations.values()) {
      out.push({ type: 'close-relay', relayId: reservation.relay.relayId });
    }
    this.#state.reservations.clear();
    return out;
  }

  #dispatch(
    client: ClientRef,
    msg: StunMessage,
    nowMs: number,
    out: TurnAction[],
    ctx: RequestContext | undefined,
  ): void {
    if (msg.messageClass === MessageClass.Indication) {
      if (msg.method === Method.Send) handleSendIndication(this.#state, client, msg, nowMs, out);
      else this.#ignore(out, 'unknown-indication');
      return;
    }
    if (!ctx) {
      this.#ignore(out, 'not-a-request');
      return;
    }
    const state = this.#state;
    switch (msg.method) {
      case Method.Binding:
        this.stats.bindingRequests++;
        handleBinding(ctx);
        return;
      case Method.Allocate:
        handleAllocate(ctx, state, this.#authLimiter);
        return;
      case Method.Refresh:
        handleRefresh(ctx, state, this.#authLimiter);
        return;
      case Method.CreatePermission:
        handleCreatePermission(ctx, state, this.#authLimiter);
        return;
      case Method.ChannelBind:
        handleChannelBind(ctx, state, this.#authLimiter);
        return;
      default:
        // RFC 8489 §6.3: an unsupported method is silently discarded (no unauthenticated answer
        // to amplify towards a spoofed source).
        this.#ignore(out, 'unsupported-method');
    }
  }

  #context(client: ClientRef, msg: StunMessage, nowMs: number, out: TurnAction[]): RequestContext {
    return new RequestContext({ msg, client, nowMs, out, services: this.#state.services });
  }

  #ignore(out: TurnAction[], reason: IgnoreReason): TurnAction[] {
    countKey(this.stats.ignored, reason);
    out.push({ type: 'ignore', reason });
    return out;
  }

  #authenticator(auth: AuthOptions | ResolvedAuthOptions): Authenticator {
    return new Authenticator({
      realm: this.options.realm,
      auth,
      crypto: this.#crypto,
      wallClock: this.#wallClock,
    });
  }
}

/** What operators and usage metering see of one allocation. */
function snapshot(allocation: Allocation, nowMs: number): AllocationSnapshot {
  let channels = 0;
  for (const binding of allocation.channels.values()) if (binding.expiresAtMs > nowMs) channels++;
  return {
    username: allocation.username,
    transport: allocation.client.transport,
    clientAddress: allocation.client.remote.address,
    clientPort: allocation.client.remote.port,
    relayed: allocation.relays.map((r) => ({
      address: r.advertised.address,
      port: r.advertised.port,
    })),
    createdAtMs: allocation.createdAtMs,
    expiresAtMs: allocation.expiresAtMs,
    bytesFromClient: allocation.bytesFromClient,
    bytesToClient: allocation.bytesToClient,
    permissions: allocation.permissions.size,
    channels,
  };
}
