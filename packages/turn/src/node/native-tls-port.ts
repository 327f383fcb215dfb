/**
 * NativeTlsPort: the native data plane as the TLS terminator of another server's port (the
 * one-port listener of `cloudproxy start`). That server reads a connection's ClientHello and
 * hands the connection over before the handshake, with the addon's context for the certificate
 * its SNI name selects; the addon does TLS and serves it as a TURN client (StreamConnections),
 * or pipes it to that server's HTTP side when its first bytes are an HTTP request
 * (`PortHandover.http`). docs/data-plane.md.
 * @module
 */
import type net from 'node:net';
import type { TransportAddress } from '@cloudproxy/stun';
import type { RelayRouter } from './relay-router.js';
import type { PortHandover, StreamConnections } from './stream-connections.js';

/** NativeTlsPort: TLS contexts and handovers of the native plane for another server's port. */
export class NativeTlsPort {
  readonly #connections: StreamConnections;
  readonly #relays: RelayRouter;
  readonly #admits: () => boolean;

  /**
   * `connections` serve what is handed over; `relays`: the native plane's stream clients once it
   * runs (none on the TypeScript plane); `admits`: whether another TURN stream client is
   * admitted now (not draining, under the connection limit).
   */
  constructor(connections: StreamConnections, relays: RelayRouter, admits: () => boolean) {
    this.#connections = connections;
    this.#relays = relays;
    this.#admits = admits;
  }

  /**
   * The addon's TLS context for a PEM certificate (chain) and key; undefined when no native
   * plane runs or the addon cannot use them (the port's own TLS server then serves everyone).
   */
  context(cert: string, key: string): number | undefined {
    const streams = this.#relays.native?.streams;
    if (!streams) return undefined;
    try {
      return streams.tlsContext(Buffer.from(cert), Buffer.from(key));
    } catch {
      return undefined;
    }
  }

  /** Drops a context (live connections keep theirs). */
  freeContext(id: number): void {
    this.#relays.native?.streams.freeTlsContext(id);
  }

  /**
   * Hands a connection to the addon before its handshake (the bytes read so far, its
   * ClientHello, unshifted into the socket). False when it was not taken (no native plane,
   * draining, at the connection limit, or the addon refused it): the socket is as it was.
   */
  accept(
    socket: net.Socket,
    remote: TransportAddress | undefined,
    context: number,
    port: PortHandover,
  ): boolean {
    return this.#admits() && this.#connections.handOverTls(socket, remote, context, port);
  }
}
