/**
 * TurnServer: the Node driver of the TURN core. Owns the listeners, the relay sockets and the
 * one timer; runs the core's actions. `new TurnServer(options)` builds, `listen()` binds.
 * @module
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import type tls from 'node:tls';
import type { TransportAddress } from '@cloudproxy/stun';
import { monotonicClock, systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { AuthOptions, TurnServerOptions } from '../options.js';
import { resolveServerOptions } from '../options-resolve.js';
import type { ResolvedServerOptions } from '../options-resolve.js';
import { TurnServerCore } from '../server-core.js';
import { countKey } from '../stats.js';
import type { AllocationSnapshot, RelayHooks } from '../hooks.js';
import type { Transport, TurnAction, TurnEvent } from '../types.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { resolveRelayAddresses } from './relay-addresses.js';
import { RelayRouter } from './relay-router.js';
import { chooseDataPlane, resolveDataPlaneThreads, stunCryptoFor } from './data-plane-choice.js';
import type { DataPlaneChoice } from './data-plane-choice.js';
import type { DataPlaneStats } from '@cloudproxy/dataplane';
import type { NativeUdp } from './native-udp.js';
import { createProxySources } from './proxy-protocol-reader.js';
import type { ProxySources } from './proxy-protocol-reader.js';
import { StreamConnections } from './stream-connections.js';
import { NativeTlsPort } from './native-tls-port.js';
import { StreamListener } from './stream-listener.js';
import { UdpListener } from './udp-listener.js';

/** One bound listener. */
export interface ListeningAddress extends TransportAddress {
  readonly transport: Transport;
}

/** Dependencies of the server; all optional. */
export interface TurnServerDeps {
  readonly logger?: Logger | undefined;
  /** Time for the relay's deadlines; default `monotonicClock` (wall-clock steps do not count). */
  readonly clock?: Clock | undefined;
  /** Wall time for REST username expiry; default `systemClock`, or `clock` when one is given. */
  readonly wallClock?: Clock | undefined;
}

const MAX_TIMER_MS = 2_147_483_647;

/** TurnServer serves STUN/TURN over UDP, TCP and TLS. */
export class TurnServer {
  readonly core: TurnServerCore;
  readonly options: ResolvedServerOptions;
  /** The relayed addresses advertised to clients (XOR-RELAYED-ADDRESS), one per family. */
  readonly relayAddresses: readonly string[];
  readonly #log: Logger;
  readonly #relays: RelayRouter;
  readonly #plane: DataPlaneChoice;
  readonly #dataPlaneThreads: number;
  readonly #udp: UdpListener[] = [];
  readonly #streams: StreamListener[] = [];
  readonly #dropped = new Map<string, number>();
  readonly #addresses: ListeningAddress[] = [];
  /** Decrypted TLS (or TCP) streams accepted by another server and handed over. */
  readonly #adopted: StreamConnections;
  readonly #proxySources: ProxySources;
  #httpsPort: number | undefined;
  /**
   * The native data plane's TLS terminator for another server's port (the one-port listener):
   * connections it hands over are served like {@link acceptStream}'s (native-tls-port.ts).
   */
  readonly nativeTls: NativeTlsPort;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAtMs = Infinity;
  #closed: Promise<void> | undefined;

  constructor(options: TurnServerOptions, deps: TurnServerDeps = {}) {
    this.options = resolveServerOptions(options);
    this.#log = deps.logger ?? silentLogger;
    this.#plane = chooseDataPlane(options.dataPlane);
    this.core = new TurnServerCore(options, {
      clock: deps.clock ?? monotonicClock,
      wallClock: deps.wallClock ?? (deps.clock === undefined ? systemClock : undefined),
      crypto: stunCryptoFor(this.#plane),
    });
    this.#proxySources = createProxySources(this.options.proxyProtocolFrom);
    this.#adopted = new StreamConnections({
      id: 'a',
      core: this.core,
      run: this.#run,
      idleTimeoutMs: this.options.tcpIdleTimeoutS * 1000,
      onDropped: (reason) => {
        countKey(this.#dropped, reason);
      },
      httpsPort: () => this.#httpsPort,
      native: () => this.#relays.native?.streams,
    });
    this.#dataPlaneThreads = resolveDataPlaneThreads(options.dataPlaneThreads);
    const relayAddresses = resolveRelayAddresses(this.options.relayAddresses);
    this.relayAddresses = relayAddresses.map((a) => a.advertisedIp);
    this.#relays = new RelayRouter({
      addresses: relayAddresses,
      minPort: this.options.minPort,
      maxPort: this.options.maxPort,
      onDatagram: (relayId, data, address, port) => {
        this.#onPeerDatagram(relayId, data, address, port);
      },
      onSendError: () => {
        countKey(this.#dropped, 'send-error');
      },
    });
    this.nativeTls = new NativeTlsPort(this.#adopted, this.#relays, () => this.#admitsStream());
  }

  /** The UDP data plane in use: 'native' (the addon relays UDP) or 'js'. See docs/data-plane.md. */
  get dataPlane(): 'native' | 'js' {
    return this.#plane.plane === 'native' && !this.options.noUdp ? 'native' : 'js';
  }

  /** The native data plane's counters, when it is in use. */
  get nativePlane(): NativeUdp | undefined {
    return this.#relays.native;
  }

  /** The bound listeners (after `listen()`). */
  get addresses(): readonly ListeningAddress[] {
    return this.#addresses;
  }

  /** Open TCP/TLS connections and relay sockets, for metrics. */
  get gauges(): {
    tcpConnections(): number;
    relaySockets(): number;
    droppedByDriver(): ReadonlyMap<string, number>;
    dataPlane(): DataPlaneStats | undefined;
  } {
    return {
      tcpConnections: () =>
        this.#streams.reduce((n, s) => n + s.connectionCount, this.#adopted.count),
      relaySockets: () => this.#relays.size,
      droppedByDriver: () => this.#dropped,
      dataPlane: () => this.#relays.native?.plane.stats(),
    };
  }

  /** Binds every listener; rejects (and closes what was bound) if one fails. */
  async listen(): Promise<readonly ListeningAddress[]> {
    const o = this.options;
    try {
      this.#relays.startNative(this.#plane, {
        threads: this.#dataPlaneThreads,
        core: this.core,
        run: this.#run,
        log: this.#log,
      });
      for (const ip of o.listeningIps) {
        try {
          await this.#listenOn(ip);
        } catch (error) {
          // The IPv6 wildcard is a default: a host without IPv6 is served on IPv4 alone.
          if (ip !== '::' || !isNoIpv6(error)) throw error;
          this.#log.warn(
            { event: 'listen.skipped', address: ip },
            'IPv6 unavailable; serving IPv4 only',
          );
        }
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    this.core.setOwnAddresses(this.#ownAddresses(), { min: o.minPort, max: o.maxPort });
    for (const a of this.#addresses) {
      this.#log.info(
        { event: 'listening', transport: a.transport, address: a.address, port: a.port },
        'turn listener bound',
      );
    }
    return this.#addresses;
  }

  /** Replaces users/secrets and reloads the TLS certificate from its files (SIGHUP). */
  reload(auth: AuthOptions): void {
    this.core.updateAuth(auth);
    if (!this.options.noTls && this.options.certFile) {
      const context = this.#tlsContext();
      for (const s of this.#streams) s.setSecureContext(context);
    }
    this.#log.info({ event: 'reloaded' }, 'credentials and certificates reloaded');
  }

  /**
   * Serves an already established stream as a TURN client: a TLS connection another server
   * terminated and found to carry TURN (the one-port listener of `cloudproxy start`), or a TCP
   * one. `transport` is what the client used (ALLOCATION accounting, REQUESTED-TRANSPORT
   * checks); `remote` overrides the socket's peer (the client a PROXY protocol header named).
   * Bytes already read and unshifted into the socket are served first. Counts towards
   * `maxTcpConnections` and follows `tcpIdleTimeoutS`; refused (closed) while draining.
   * @returns false when the socket was refused and closed.
   */
  acceptStream(socket: net.Socket, transport: 'tcp' | 'tls', remote?: TransportAddress): boolean {
    if (!this.#admitsStream()) {
      countKey(this.#dropped, 'connection-limit');
      socket.destroy();
      return false;
    }
    this.#adopted.accept(socket, transport, remote);
    return true;
  }

  /** Whether another stream client is admitted now: not draining, under maxTcpConnections. */
  #admitsStream(): boolean {
    const open = this.gauges.tcpConnections();
    return !this.#draining && this.#closed === undefined && open < this.options.maxTcpConnections;
  }

  /**
   * The HTTPS port of this node, named in the answer to an HTTP request on a TURN TCP port
   * ("use https://host:port/"); undefined: the answer says the port does not serve HTTP.
   */
  setHttpsPort(port: number | undefined): void {
    this.#httpsPort = port;
  }

  /** Installs a control plane's hooks: per-app secrets, admission, release with usage. */
  setHooks(hooks: RelayHooks): void {
    this.core.setHooks(hooks);
  }

  /** Live allocations at this instant, with bytes relayed so far. */
  listAllocations(): AllocationSnapshot[] {
    this.#relays.collectCounts();
    return this.core.listAllocations();
  }

  /** Ends every allocation whose username matches (revocation); returns how many ended. */
  revokeAllocations(match: (username: string) => boolean): number {
    this.#relays.collectCounts();
    const { out, ended } = this.core.revokeAllocations(match);
    this.#run(out);
    return ended;
  }

  /**
   * Graceful shutdown: stop new allocations and TCP connections, let live allocations end by
   * themselves for up to `timeoutMs`, then close everything.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.core.setDraining(true);
    this.#draining = true;
    await Promise.all(this.#streams.map((s) => s.close(false)));
    this.#log.info(
      { event: 'draining', allocations: this.core.allocationCount, timeoutMs },
      'draining',
    );
    const deadline = Date.now() + timeoutMs;
    while (this.core.allocationCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, deadline - Date.now())));
    }
    await this.close();
  }

  /** Closes every socket and ends every allocation. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#relays.collectCounts();
    this.#run(this.core.closeAll());
    if (this.#timer) clearTimeout(this.#timer);
    this.#relays.closeAll();
    this.#adopted.destroyAll();
    await Promise.all([
      ...this.#udp.map((u) => u.close()),
      ...this.#streams.map((s) => s.close(true)),
    ]);
    this.#log.info({ event: 'closed' }, 'turn server closed');
  }

  async #listenOn(ip: string): Promise<void> {
    const o = this.options;
    const family: 4 | 6 = ip.includes(':') ? 6 : 4;
    if (!o.noUdp) await this.#listenUdp(ip, family, o.listeningPort);
    if (!o.noTcp) await this.#listenStream(ip, o.listeningPort, undefined);
    if (!o.noTls) await this.#listenStream(ip, o.tlsListeningPort, this.#tlsContext());
  }

  async #listenUdp(ip: string, family: 4 | 6, port: number): Promise<void> {
    const native = this.#relays.native;
    if (native) {
      this.#addresses.push({ ...native.listen(ip, port), transport: 'udp' });
      return;
    }
    const listener = new UdpListener({
      id: this.#udp.length,
      family,
      core: this.core,
      run: this.#run,
      onSendError: () => {
        countKey(this.#dropped, 'send-error');
      },
    });
    this.#udp.push(listener);
    const bound = await listener.listen(ip, port);
    this.#addresses.push({ ...bound, transport: 'udp' });
  }

  async #listenStream(
    ip: string,
    port: number,
    context: tls.SecureContextOptions | undefined,
  ): Promise<void> {
    const listener = new StreamListener({
      id: this.#streams.length,
      core: this.core,
      run: this.#run,
      tls: context,
      maxConnections: this.options.maxTcpConnections,
      idleTimeoutMs: this.options.tcpIdleTimeoutS * 1000,
      onDropped: (reason) => {
        countKey(this.#dropped, reason);
      },
      proxySources: this.#proxySources,
      httpsPort: () => this.#httpsPort,
      native: () => this.#relays.native?.streams,
    });
    this.#streams.push(listener);
    const bound = await listener.listen(ip, port);
    this.#addresses.push({ ...bound, transport: listener.transport });
  }

  #tlsContext(): tls.SecureContextOptions {
    const { certFile, keyFile } = this.options;
    if (!certFile || !keyFile)
      throw new Error('tls: --cert and --pkey are required unless --no-tls');
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }

  #ownAddresses(): string[] {
    const own = new Set<string>();
    const wildcard = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
    const ips = [
      ...this.options.listeningIps,
      ...this.options.relayAddresses.flatMap((r) => [r.relayIp, r.externalIp ?? r.relayIp]),
    ];
    for (const ip of ips) {
      if (!wildcard(ip)) own.add(ip);
      else
        for (const entries of Object.values(os.networkInterfaces()))
          for (const e of entries ?? []) own.add(e.address);
    }
    return [...own];
  }

  #onPeerDatagram(relayId: number, data: Buffer, address: string, port: number): void {
    const target = this.core.peerTarget(relayId, address, port, data);
    if (target === undefined) return;
    if ('channelNumber' in target)
      target.allocation.client.sink.sendChannelData(target.channelNumber, data);
    else target.client.sink.send(target.data);
  }

  /** Runs the core's actions in order, then re-arms the timer. */
  readonly #run = (actions: TurnAction[]): void => {
    for (const action of actions) this.#runOne(action);
    this.#armTimer();
  };

  #runOne(action: TurnAction): void {
    switch (action.type) {
      case 'send-client':
        action.client.sink.send(action.data);
        return;
      case 'send-peer':
        this.#relays.send(action.relayId, action.data, action.peer.port, action.peer.address);
        return;
      case 'open-relay':
        void this.#relays.open(action.client, action.request).then((result) => {
          this.#run(this.core.handleRelayBound(result));
        });
        return;
      case 'close-relay':
        this.#relays.close(action.relayId);
        return;
      case 'close-client':
        this.#streams.forEach((s) => {
          s.closeClient(action.client.key);
        });
        this.#adopted.closeClient(action.client.key);
        return;
      case 'emit':
        this.#logEvent(action.event);
        return;
      case 'ignore':
        return;
      default:
        assertNever(action);
    }
  }

  #logEvent(event: TurnEvent): void {
    const client = `${event.client.transport}:${event.client.remote.address}:${event.client.remote.port}`;
    switch (event.type) {
      case 'allocation.created':
        this.#log.info(
          {
            event: event.type,
            client,
            user: event.username,
            relays: event.relays.map((r) => `${r.address}:${r.port}`),
            lifetimeS: event.lifetimeS,
          },
          'allocation created',
        );
        return;
      case 'allocation.deleted':
        this.#log.info(
          {
            event: event.type,
            client,
            user: event.username,
            reason: event.reason,
            bytesFromClient: event.bytesFromClient,
            bytesToClient: event.bytesToClient,
            durationMs: event.durationMs,
          },
          'allocation deleted',
        );
        return;
      case 'request.rejected':
        this.#log.debug(
          { event: event.type, client, method: event.method, code: event.code, cause: event.cause },
          'request rejected',
        );
        return;
      case 'auth.failed':
        this.#log.warn({ event: event.type, client, cause: event.cause }, 'authentication failed');
        return;
      default:
        assertNever(event);
    }
  }

  #armTimer(): void {
    const deadline = this.core.nextDeadlineMs();
    if (deadline === undefined || deadline >= this.#timerAtMs) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAtMs = deadline;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAtMs = Infinity;
        this.#relays.collectCounts();
        this.#run(this.core.handleTimeout());
      },
      Math.min(MAX_TIMER_MS, Math.max(0, deadline - this.core.nowMs())),
    );
  }
}

function isNoIpv6(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL';
}

/** Compile-time exhaustiveness check for discriminated unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
