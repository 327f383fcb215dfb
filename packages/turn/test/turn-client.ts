/**
 * A small TURN client over real UDP/TCP/TLS sockets for loopback tests, built on the codec.
 * @module
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import {
  MessageClass,
  Method,
  PasswordAlgorithmId,
  StreamFramer,
  attr,
  channelNumber,
  decodeChannelData,
  decodeMessage,
  encodeChannelData,
  encodeMessage,
  errorCode,
  isChannelData,
  longTermKey,
  newTransactionId,
  nonce,
  realm,
  requestedTransport,
  username,
  xorPeerAddress,
  xorRelayedAddress,
} from '@cloudproxy/stun';
import type { AttributeEntry, StunMessage, TransportAddress } from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';

type Frame =
  { kind: 'stun'; msg: StunMessage } | { kind: 'channel'; channel: number; data: Uint8Array };

/** TestTurnClient speaks TURN over one transport to a server on loopback. */
export class TestTurnClient {
  readonly #send: (data: Uint8Array) => void;
  readonly #close: () => void;
  readonly #frames: Frame[] = [];
  readonly #waiters: (() => void)[] = [];
  #realm: string | undefined;
  #nonce: string | undefined;

  private constructor(send: (data: Uint8Array) => void, close: () => void) {
    this.#send = send;
    this.#close = close;
  }

  /** Connects over `transport` to `port` on 127.0.0.1. */
  static async connect(
    transport: 'udp' | 'tcp' | 'tls',
    port: number,
    creds = { user: 'alice', pass: 'wonderland' },
    host = '127.0.0.1',
  ): Promise<TestTurnClient> {
    let client!: TestTurnClient;
    const onFrame = (bytes: Uint8Array): void => {
      client.#push(bytes);
    };
    if (transport === 'udp') {
      const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => socket.bind(0, host, resolve));
      socket.on('message', (m) => {
        onFrame(m);
      });
      client = new TestTurnClient(
        (d) => socket.send(d, port, host),
        () => {
          socket.close();
        },
      );
    } else {
      const socket =
        transport === 'tcp'
          ? net.connect(port, host)
          : tls.connect({
              port,
              host,
              rejectUnauthorized: false,
              ALPNProtocols: ['stun.turn'],
            });
      await new Promise<void>((resolve, reject) => {
        socket.once(transport === 'tcp' ? 'connect' : 'secureConnect', () => {
          resolve();
        });
        socket.once('error', reject);
      });
      const framer = new StreamFramer((frame) => {
        onFrame(frame.slice());
      });
      socket.on('data', (chunk: Buffer) => {
        framer.push(chunk);
      });
      socket.on('error', () => undefined);
      client = new TestTurnClient(
        (d) => socket.write(d),
        () => socket.destroy(),
      );
      if (socket instanceof tls.TLSSocket) client.alpnProtocol = socket.alpnProtocol;
    }
    client.user = creds.user;
    client.pass = creds.pass;
    return client;
  }

  user = 'alice';
  pass = 'wonderland';
  /** The ALPN protocol the server selected (TLS only). */
  alpnProtocol: string | false | null = null;

  close(): void {
    this.#close();
  }

  /** Sends raw bytes. */
  sendRaw(data: Uint8Array): void {
    this.#send(data);
  }

  /** Sends a signed request (learning REALM/NONCE from a 401/438 first) and awaits its response. */
  async request(method: number, attributes: AttributeEntry[] = []): Promise<StunMessage> {
    let response = await this.#transact(method, attributes);
    const code = response.get(errorCode)?.code;
    if (code === 401 || code === 438) {
      this.#realm = response.get(realm);
      this.#nonce = response.get(nonce);
      response = await this.#transact(method, attributes);
    }
    return response;
  }

  /** Allocates a UDP relay and returns its address. */
  async allocate(extra: AttributeEntry[] = []): Promise<TransportAddress> {
    const response = await this.request(Method.Allocate, [attr(requestedTransport, 17), ...extra]);
    const relayed = response.get(xorRelayedAddress);
    if (response.messageClass !== MessageClass.SuccessResponse || !relayed) {
      throw new Error(`allocate failed: ${JSON.stringify(response.get(errorCode))}`);
    }
    return relayed;
  }

  /** Binds `channel` to `peer`. */
  async channelBind(channel: number, peer: TransportAddress): Promise<StunMessage> {
    return this.request(Method.ChannelBind, [
      attr(channelNumber, channel),
      attr(xorPeerAddress, peer),
    ]);
  }

  /** Sends ChannelData (padded on streams is handled by the framer on the other side). */
  sendChannelData(channel: number, data: Uint8Array, pad: boolean): void {
    this.#send(encodeChannelData(channel, data, pad));
  }

  /** Waits for the next ChannelData frame. */
  async nextChannelData(timeoutMs = 5000): Promise<{ channel: number; data: Uint8Array }> {
    const frame = await this.#next((f) => f.kind === 'channel', timeoutMs);
    if (frame.kind !== 'channel') throw new Error('unreachable');
    return frame;
  }

  /** Waits for the next STUN indication (a Data indication, …). */
  async nextIndication(timeoutMs = 5000): Promise<StunMessage> {
    const frame = await this.#next(
      (f) => f.kind === 'stun' && f.msg.messageClass === MessageClass.Indication,
      timeoutMs,
    );
    if (frame.kind !== 'stun') throw new Error('unreachable');
    return frame.msg;
  }

  async #transact(method: number, attributes: AttributeEntry[]): Promise<StunMessage> {
    const transactionId = newTransactionId();
    const all = [...attributes];
    let key: Uint8Array | undefined;
    if (this.#realm !== undefined && this.#nonce !== undefined) {
      all.push(attr(username, this.user), attr(realm, this.#realm), attr(nonce, this.#nonce));
      key = longTermKey(this.user, this.#realm, this.pass, PasswordAlgorithmId.Md5, nodeStunCrypto);
    }
    this.#send(
      encodeMessage(
        {
          method,
          messageClass: MessageClass.Request,
          transactionId,
          attributes: all,
          integrityKey: key,
          fingerprint: true,
        },
        nodeStunCrypto,
      ),
    );
    const id = Buffer.from(transactionId).toString('hex');
    const frame = await this.#next((f) => f.kind === 'stun' && f.msg.transactionKey === id, 5000);
    if (frame.kind !== 'stun') throw new Error('unreachable');
    return frame.msg;
  }

  #push(bytes: Uint8Array): void {
    if (isChannelData(bytes)) {
      const cd = decodeChannelData(bytes);
      this.#frames.push({
        kind: 'channel',
        channel: cd.channelNumber,
        data: new Uint8Array(cd.data),
      });
    } else {
      this.#frames.push({ kind: 'stun', msg: decodeMessage(bytes.slice()) });
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #next(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#frames.findIndex(match);
      if (index >= 0) return this.#frames.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
