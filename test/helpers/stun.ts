/**
 * A deliberately tiny, independent STUN encoder/decoder for the test harness (RFC 8489): enough
 * to probe readiness with a Binding request and to check authentication answers. It does not use
 * packages/stun on purpose, so that it stays an oracle for the code under test.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

export const MAGIC_COOKIE = 0x2112a442;

export const StunMethod = { Binding: 0x001, Allocate: 0x003 } as const;
export const StunClass = { Request: 0x00, Indication: 0x10, Success: 0x100, Error: 0x110 } as const;

export const StunAttr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
}

/** Encodes a message; when `integrityKey` is given, appends MESSAGE-INTEGRITY (HMAC-SHA1). */
export function encodeStun(
  message: Omit<StunMessage, 'transactionId'> & { transactionId?: Buffer },
  integrityKey?: Buffer,
): { bytes: Buffer; transactionId: Buffer } {
  const transactionId = message.transactionId ?? randomBytes(12);
  const parts: Buffer[] = [];
  for (const attr of message.attributes) {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attr.type, 0);
    header.writeUInt16BE(attr.value.length, 2);
    const padding = Buffer.alloc((4 - (attr.value.length % 4)) % 4);
    parts.push(header, attr.value, padding);
  }
  const body = Buffer.concat(parts);
  const typeField =
    ((message.method & 0x0f80) << 2) |
    ((message.method & 0x0070) << 1) |
    (message.method & 0x000f) |
    message.cls;
  const header = Buffer.alloc(20);
  header.writeUInt16BE(typeField, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  if (!integrityKey) {
    header.writeUInt16BE(body.length, 2);
    return { bytes: Buffer.concat([header, body]), transactionId };
  }
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', integrityKey).update(header).update(body).digest();
  const miHeader = Buffer.alloc(4);
  miHeader.writeUInt16BE(StunAttr.MessageIntegrity, 0);
  miHeader.writeUInt16BE(20, 2);
  return { bytes: Buffer.concat([header, body, miHeader, mac]), transactionId };
}

/** Decodes a STUN message, or returns undefined when `bytes` is not one. */
export function decodeStun(bytes: Buffer): StunMessage | undefined {
  if (bytes.length < 20 || (bytes[0]! & 0xc0) !== 0) return undefined;
  if (bytes.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const length = bytes.readUInt16BE(2);
  if (length + 20 > bytes.length || length % 4 !== 0) return undefined;
  const typeField = bytes.readUInt16BE(0);
  const method = ((typeField & 0x3e00) >> 2) | ((typeField & 0x00e0) >> 1) | (typeField & 0x000f);
  const cls = typeField & 0x0110;
  const attributes: StunAttribute[] = [];
  let offset = 20;
  while (offset + 4 <= 20 + length) {
    const type = bytes.readUInt16BE(offset);
    const len = bytes.readUInt16BE(offset + 2);
    if (offset + 4 + len > 20 + length) return undefined;
    attributes.push({ type, value: bytes.subarray(offset + 4, offset + 4 + len) });
    offset += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { method, cls, transactionId: bytes.subarray(8, 20), attributes };
}

export function getAttr(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

/** ERROR-CODE as a number (e.g. 401), or undefined. */
export function errorCode(message: StunMessage): number | undefined {
  const value = getAttr(message, StunAttr.ErrorCode);
  if (!value || value.length < 4) return undefined;
  return (value[2]! & 0x07) * 100 + value[3]!;
}

/** Decodes an XOR-MAPPED-ADDRESS / XOR-RELAYED-ADDRESS value. */
export function decodeXorAddress(
  value: Buffer,
  transactionId: Buffer,
): { family: 4 | 6; address: string; port: number } {
  const family = value[1] === 0x02 ? 6 : 4;
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 4) {
    const raw = value.readUInt32BE(4) ^ MAGIC_COOKIE;
    const address = [raw >>> 24, (raw >>> 16) & 0xff, (raw >>> 8) & 0xff, raw & 0xff].join('.');
    return { family, address, port };
  }
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) bytes[i] = value[4 + i]! ^ mask[i]!;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return { family, address: groups.join(':'), port };
}

/** The long-term credential key of RFC 8489 §9.2.2: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/** A 20-byte Binding request: type 0x0001, length 0, magic cookie, random transaction id. */
export function bindingRequest(): { bytes: Buffer; transactionId: Buffer } {
  return encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, attributes: [] });
}

/**
 * A UDP STUN client with one socket (one 5-tuple): servers such as coturn tie a NONCE to the
 * 5-tuple, so the challenge and the authenticated retry must come from the same socket.
 */
export class UdpStunClient {
  private readonly socket: dgram.Socket;
  private readonly pending = new Map<
    string,
    (answer: { message: StunMessage; from: dgram.RemoteInfo }) => void
  >();
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, from) => {
      if (msg.length < 20) return;
      const key = msg.subarray(8, 20).toString('hex');
      const waiter = this.pending.get(key);
      const message = waiter && decodeStun(msg);
      if (waiter && message) {
        this.pending.delete(key);
        waiter({ message, from });
      }
    });
    this.socket.on('error', () => {
      // Reported to callers as timeouts; ICMP errors on loopback surface here.
    });
  }

  /**
   * Sends the request, retransmitting every `intervalMs`, until the answer with the same
   * transaction id arrives or `timeoutMs` passes (then rejects).
   */
  request(
    request: { bytes: Buffer; transactionId: Buffer },
    timeoutMs = 3000,
    intervalMs = 250,
  ): Promise<{ message: StunMessage; from: dgram.RemoteInfo }> {
    const key = request.transactionId.toString('hex');
    return new Promise((resolve, reject) => {
      const send = (): void => {
        if (!this.closed) this.socket.send(request.bytes, this.port, this.host);
      };
      const resend = setInterval(send, intervalMs);
      const timer = setTimeout(() => {
        clearInterval(resend);
        this.pending.delete(key);
        reject(new Error(`no STUN answer from ${this.host}:${this.port} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, (answer) => {
        clearInterval(resend);
        clearTimeout(timer);
        resolve(answer);
      });
      send();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** One request/answer over a fresh UDP socket (see `UdpStunClient.request`). */
export async function udpTransaction(
  host: string,
  port: number,
  request: { bytes: Buffer; transactionId: Buffer },
  timeoutMs = 3000,
  intervalMs = 250,
): Promise<{ message: StunMessage; from: dgram.RemoteInfo }> {
  const client = new UdpStunClient(host, port);
  try {
    return await client.request(request, timeoutMs, intervalMs);
  } finally {
    client.close();
  }
}

/** Sends one STUN request over a fresh TCP connection and waits for the matching answer. */
export function tcpTransaction(
  host: string,
  port: number,
  request: { bytes: Buffer; transactionId: Buffer },
  timeoutMs = 3000,
): Promise<StunMessage> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no STUN answer over TCP from ${host}:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(request.bytes));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 20) {
        const total = 20 + buffered.readUInt16BE(2);
        if (buffered.length < total) return;
        const message = decodeStun(buffered.subarray(0, total));
        buffered = buffered.subarray(total);
        if (message?.transactionId.equals(request.transactionId)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(message);
          return;
        }
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/** REQUESTED-TRANSPORT = UDP (17), the attribute every Allocate carries. */
export function requestedTransportUdp(): StunAttribute {
  return { type: StunAttr.RequestedTransport, value: Buffer.from([17, 0, 0, 0]) };
}
