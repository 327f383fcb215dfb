/**
 * UdpListener: one UDP socket serving STUN/TURN on a listening address. ChannelData from clients
 * with an allocation takes a short path straight to the relay socket. RFC 8656 §12.6.
 * @module
 */
import dgram from 'node:dgram';
import type { TransportAddress } from '@cloudproxy/stun';
import type { TurnServerCore } from '../server-core.js';
import { literalLookup } from './literal-lookup.js';
import type { ClientRef, ClientSink, TurnAction } from '../types.js';

/**
 * The short path of client ChannelData: on a bound channel its payload goes out of the relay
 * socket as it is; anything else is dropped (and counted) by the core.
 */
export function forwardChannelData(core: TurnServerCore, clientKey: string, data: Buffer): void {
  const binding = core.channelTarget(clientKey, data);
  if (!binding) return;
  const length = ((data[2] ?? 0) << 8) | (data[3] ?? 0);
  binding.relay.sink.send(data.subarray(4, 4 + length), binding.peer.port, binding.peer.address);
}

/** Runs the actions the core returned for a packet. */
export type ActionRunner = (actions: TurnAction[]) => void;

/** UdpListener owns one listening UDP socket. */
export class UdpListener {
  readonly socket: dgram.Socket;
  readonly #core: TurnServerCore;
  readonly #run: ActionRunner;
  readonly #prefix: string;
  #local: TransportAddress | undefined;

  constructor(options: {
    id: number;
    family: 4 | 6;
    core: TurnServerCore;
    run: ActionRunner;
    onSendError: () => void;
  }) {
    this.#core = options.core;
    this.#run = options.run;
    this.#prefix = `u${options.id}|`;
    this.socket = dgram.createSocket({
      type: options.family === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup,
      ipv6Only: options.family === 6,
      recvBufferSize: 4 * 1024 * 1024,
      sendBufferSize: 4 * 1024 * 1024,
    });
    this.socket.on('message', (data, rinfo) => {
      this.#onMessage(data, rinfo);
    });
    // Send failures (an unreachable client) arrive as 'error' events: counted, never thrown.
    this.socket.on('error', options.onSendError);
  }

  /** Binds to `address:port` (port 0 picks one). */
  listen(address: string, port: number): Promise<TransportAddress> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind({ address, port, exclusive: true }, () => {
        this.socket.off('error', reject);
        const bound = this.socket.address();
        this.#local = {
          family: bound.family === 'IPv6' ? 6 : 4,
          address: bound.address,
          port: bound.port,
        };
        resolve(this.#local);
      });
    });
  }

  /** Closes the socket (idempotent). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => {
          resolve();
        });
      } catch {
        resolve(); // already closed
      }
    });
  }

  #onMessage(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const first = data[0] ?? 0;
    if (first >= 0x40 && first <= 0x7f) {
      forwardChannelData(this.#core, `${this.#prefix}${rinfo.address}|${rinfo.port}`, data);
      return;
    }
    this.#run(this.#core.handleClientPacket(this.#client(rinfo), data));
  }

  #client(rinfo: dgram.RemoteInfo): ClientRef {
    const address = rinfo.address;
    const port = rinfo.port;
    return {
      // Joined, not concatenated: one flat string instead of a tree of parts, as the core keeps
      // it for as long as the allocation lives.
      key: [this.#prefix, address, '|', port].join(''),
      transport: 'udp',
      remote: { family: rinfo.family === 'IPv6' ? 6 : 4, address, port },
      local: this.#local ?? { family: 4, address: '0.0.0.0', port: 0 },
      sink: new UdpClientSink(this.socket, address, port),
    };
  }
}

/**
 * Sends to one UDP client from the listening socket. A class, so that the methods live once on
 * the prototype rather than as two closures per client.
 */
class UdpClientSink implements ClientSink {
  readonly #socket: dgram.Socket;
  readonly #address: string;
  readonly #port: number;

  constructor(socket: dgram.Socket, address: string, port: number) {
    this.#socket = socket;
    this.#address = address;
    this.#port = port;
  }

  send(bytes: Uint8Array): void {
    this.#socket.send(bytes, this.#port, this.#address);
  }

  sendChannelData(channelNumber: number, payload: Uint8Array): void {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt16BE(channelNumber, 0);
    header.writeUInt16BE(payload.length, 2);
    this.#socket.send([header, payload], this.#port, this.#address);
  }
}
