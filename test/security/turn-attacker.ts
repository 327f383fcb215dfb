/**
 * An attacking TURN client for the security suite: raw STUN/TURN requests over UDP or TCP from a
 * chosen local address, long-term authentication done by hand, and access to every byte sent and
 * received (for replays and amplification ratios). It builds on the independent encoder of
 * test/helpers/stun.ts, never on packages/stun, so that it stays an oracle for the server.
 * @module
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import {
  MAGIC_COOKIE,
  StunAttr,
  StunClass,
  decodeStun,
  encodeStun,
  errorCode,
  getAttr,
  longTermKey,
  type StunAttribute,
  type StunMessage,
} from '../helpers/stun.js';

/** TURN methods used by the attacks. RFC 8656 §17. */
export const TurnMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/** Attributes beyond those of test/helpers/stun.ts. RFC 8656 §18. */
export const TurnAttr = {
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  AdditionalAddressFamily: 0x8000,
  RequestedAddressFamily: 0x0017,
} as const;

/** One answer: the decoded message and its exact bytes. */
export interface Answer {
  readonly message: StunMessage;
  readonly raw: Buffer;
}

/** Parses IPv4 or IPv6 text (with `::` and a trailing dotted quad) into 4 or 16 bytes. */
export function ipBytes(text: string): Buffer {
  if (net.isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!net.isIPv6(text)) throw new Error(`not an IP address: ${text}`);
  let head = text;
  const tail: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const v4 = quad[1]!.split('.').map(Number);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    head = text.slice(0, -quad[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const groups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const l = groups(left);
  const r = [...groups(right ?? ''), ...tail];
  const fill = right === undefined ? [] : new Array<number>(8 - l.length - r.length).fill(0);
  const all = right === undefined ? [...l, ...tail] : [...l, ...fill, ...r];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** XOR-PEER-ADDRESS (or any XOR address) value for `address:port`. RFC 8489 §14.2. */
export function xorAddress(address: string, port: number, transactionId: Buffer): Buffer {
  const bytes = ipBytes(address);
  const value = Buffer.alloc(4 + bytes.length);
  value[1] = bytes.length === 4 ? 0x01 : 0x02;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  for (let i = 0; i < bytes.length; i++) value[4 + i] = bytes[i]! ^ mask[i]!;
  return value;
}

/** An attribute with a big-endian 32-bit value (REQUESTED-TRANSPORT, LIFETIME…). */
export function u32Attr(type: number, value: number): StunAttribute {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value >>> 0);
  return { type, value: buf };
}

/** The text of an attribute, or undefined. */
export function textAttr(message: StunMessage, type: number): string | undefined {
  return getAttr(message, type)?.toString('utf8');
}

/** Options of {@link TurnAttacker.open}. */
export interface AttackerOptions {
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  /** Local address to send from (e.g. 127.0.0.2, another loopback source). */
  readonly localAddress?: string;
}

/**
 * TurnAttacker: one 5-tuple towards the server. Remembers the credentials of its last
 * successful challenge so that later requests can be signed (or tampered with).
 */
export class TurnAttacker {
  readonly options: AttackerOptions;
  /** Every datagram or framed message received, in order. */
  readonly received: Buffer[] = [];
  realm = '';
  nonce = '';
  username = '';
  key: Buffer = Buffer.alloc(0);
  #udp: dgram.Socket | undefined;
  #tcp: net.Socket | undefined;
  #tcpBuffer = Buffer.alloc(0);
  #closed = false;
  readonly #waiters = new Set<() => void>();

  private constructor(options: AttackerOptions) {
    this.options = options;
  }

  /** Opens the socket (UDP bound, TCP connected). */
  static async open(options: AttackerOptions): Promise<TurnAttacker> {
    const attacker = new TurnAttacker(options);
    await attacker.#connect();
    return attacker;
  }

  async #connect(): Promise<void> {
    const { host, port, transport, localAddress } = this.options;
    if (transport === 'udp') {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      this.#udp = socket;
      socket.on('message', (msg) => {
        this.#receive(Buffer.from(msg));
      });
      socket.on('error', () => {
        // ICMP errors on loopback; the attacks only look at what is received.
      });
      await new Promise<void>((resolve) => {
        socket.bind(0, localAddress, resolve);
      });
      return;
    }
    const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    this.#tcp = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#tcpBuffer = Buffer.concat([this.#tcpBuffer, chunk]);
      this.#drainTcp();
    });
    socket.on('error', () => {
      // A reset by the server is an outcome the attacks check through `isClosed`.
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }

  #drainTcp(): void {
    while (this.#tcpBuffer.length >= 4) {
      const first = this.#tcpBuffer[0]! >> 6;
      const length = this.#tcpBuffer.readUInt16BE(2);
      const total = first === 0 ? 20 + length : 4 + length + ((4 - (length % 4)) % 4);
      if (first === 0 && this.#tcpBuffer.length < 20) return;
      if (this.#tcpBuffer.length < total) return;
      this.#receive(this.#tcpBuffer.subarray(0, total));
      this.#tcpBuffer = this.#tcpBuffer.subarray(total);
    }
  }

  #receive(bytes: Buffer): void {
    this.received.push(bytes);
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Whether the server closed the TCP connection. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The local port of the socket. */
  get localPort(): number {
    return this.#udp ? this.#udp.address().port : (this.#tcp?.localPort ?? 0);
  }

  /** Sends raw bytes (one datagram, or bytes on the stream). */
  send(bytes: Buffer): void {
    if (this.#udp) this.#udp.send(bytes, this.options.port, this.options.host);
    else this.#tcp?.write(bytes);
  }

  /**
   * Sends `bytes` and resolves with the answer whose transaction id matches, or undefined after
   * `timeoutMs`. UDP requests are retransmitted every 300 ms meanwhile.
   */
  async exchange(bytes: Buffer, timeoutMs = 1500): Promise<Answer | undefined> {
    const tid = bytes.subarray(8, 20);
    const from = this.received.length;
    const find = (): Answer | undefined => {
      for (const raw of this.received.slice(from)) {
        const message = decodeStun(raw);
        if (message?.transactionId.equals(tid)) return { message, raw };
      }
      return undefined;
    };
    this.send(bytes);
    const resend = this.#udp ? setInterval(() => this.send(bytes), 300) : undefined;
    try {
      return await this.waitFor(find, timeoutMs);
    } finally {
      clearInterval(resend);
    }
  }

  /** Resolves with `probe()`'s first defined value, or undefined after `timeoutMs`. */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const now = probe();
    if (now !== undefined || this.#closed) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (value: T | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const check = (): void => {
        const value = probe();
        if (value !== undefined || this.#closed) done(value);
      };
      const timer = setTimeout(() => {
        done(undefined);
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Builds a request; `sign` appends USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. */
  build(
    method: number,
    attributes: (tid: Buffer) => StunAttribute[],
    sign = true,
  ): { bytes: Buffer; transactionId: Buffer } {
    const transactionId = randomBytes(12);
    const attrs = attributes(transactionId);
    if (!sign)
      return encodeStun({ method, cls: StunClass.Request, attributes: attrs, transactionId });
    const credentials = [
      { type: StunAttr.Username, value: Buffer.from(this.username) },
      { type: StunAttr.Realm, value: Buffer.from(this.realm) },
      { type: StunAttr.Nonce, value: Buffer.from(this.nonce) },
    ];
    return encodeStun(
      { method, cls: StunClass.Request, attributes: [...attrs, ...credentials], transactionId },
      this.key,
    );
  }

  /** Sends a signed request (after a successful `allocate`) and returns the answer. */
  async signed(method: number, attributes: (tid: Buffer) => StunAttribute[]): Promise<Answer> {
    const answer = await this.exchange(this.build(method, attributes).bytes);
    if (!answer) throw new Error(`no answer to method 0x${method.toString(16)}`);
    return answer;
  }

  /**
   * Allocate with long-term credentials: the unauthenticated try (401 with REALM and NONCE),
   * then the signed one. Resolves with the final answer (success or error).
   */
  async allocate(username: string, password: string, extra: StunAttribute[] = []): Promise<Answer> {
    const transport = u32Attr(StunAttr.RequestedTransport, 17 << 24);
    const challenge = await this.exchange(
      this.build(TurnMethod.Allocate, () => [transport, ...extra], false).bytes,
    );
    if (!challenge) throw new Error('no answer to the unauthenticated Allocate');
    if (errorCode(challenge.message) !== 401) return challenge;
    this.realm = textAttr(challenge.message, StunAttr.Realm) ?? '';
    this.nonce = textAttr(challenge.message, StunAttr.Nonce) ?? '';
    this.username = username;
    this.key = longTermKey(username, this.realm, password);
    return this.signed(TurnMethod.Allocate, () => [transport, ...extra]);
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#udp?.close();
    this.#udp = undefined;
    this.#tcp?.destroy();
    this.#tcp = undefined;
  }
}

/** Whether an answer is a success response. */
export function isSuccess(answer: Answer | undefined): boolean {
  return answer?.message.cls === StunClass.Success;
}

/** The ERROR-CODE of an answer (undefined for success or none). */
export function codeOf(answer: Answer | undefined): number | undefined {
  return answer ? errorCode(answer.message) : undefined;
}
