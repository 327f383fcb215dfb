// A TURN client for load and fault tests, written with the project's own codec
// (@cloudproxy/stun, built: packages/stun/dist) and long-term credentials (RFC 8489 §9.2):
// one UDP socket per allocation (an allocation is bound to its 5-tuple), requests retransmitted
// with a doubling RTO (RFC 8489 §6.2.1), the 401 challenge and 438 stale-nonce retry handled,
// and ChannelData sent to and received from one peer. Types: turn-load-client.d.mts.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import {
  MessageClass,
  Method,
  PasswordAlgorithmId,
  attr,
  channelNumber,
  decodeChannelData,
  decodeMessage,
  encodeChannelData,
  encodeMessage,
  errorCode,
  isChannelData,
  lifetime,
  longTermKey,
  nonce,
  realm,
  requestedTransport,
  username,
  xorPeerAddress,
  xorRelayedAddress,
} from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';

/** UDP (17) in REQUESTED-TRANSPORT. RFC 8656 §18.7. */
const UDP_PROTOCOL = 17;
/** Waits after each send of one request: 500 ms doubling to 4 s, 6 sends, 15.5 s in all. */
const RTO_MS = [500, 1000, 2000, 4000, 4000, 4000];

/** A TURN request that failed: `code` is the STUN error code, or 0 for a timeout. */
export class TurnRequestError extends Error {
  constructor(what, code, reason) {
    super(`${what}: ${code === 0 ? 'no answer' : `${code} ${reason}`}`);
    this.name = 'TurnRequestError';
    this.code = code;
  }
}

/** One allocation over its own UDP socket. */
export class TurnLoadClient {
  #socket;
  #server;
  #user;
  #password;
  #realm = '';
  #nonce = '';
  #key = undefined;
  #pending = new Map();
  #closed = false;
  /** Handler of received ChannelData payloads: (channel, data) => void. */
  onData = undefined;
  /** The relayed address after allocate(). */
  relayed = undefined;

  /** @param options { host, port, username, password } */
  constructor(options) {
    this.#server = { host: options.host, port: options.port };
    this.#user = options.username;
    this.#password = options.password;
    this.#socket = dgram.createSocket('udp4');
    this.#socket.on('message', (bytes) => this.#onMessage(bytes));
    this.#socket.on('error', () => {
      // ICMP errors while the server is down: reported as request timeouts.
    });
  }

  /** Binds the socket to an ephemeral loopback port. */
  bind(host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(0, host, () => {
        this.#socket.removeListener('error', reject);
        resolve();
      });
    });
  }

  /** Replaces the credentials (used from the next request on). */
  setCredentials(user, password) {
    this.#user = user;
    this.#password = password;
    this.#key = undefined;
  }

  /** Allocate (RFC 8656 §7): challenge, then the authenticated request; returns the lifetime. */
  async allocate(lifetimeS) {
    const attrs = [attr(requestedTransport, UDP_PROTOCOL)];
    if (lifetimeS !== undefined) attrs.push(attr(lifetime, lifetimeS));
    const answer = await this.#authenticated('allocate', Method.Allocate, attrs);
    this.relayed = answer.get(xorRelayedAddress);
    return answer.get(lifetime);
  }

  /** Refresh (RFC 8656 §8); returns the granted lifetime (0 deletes the allocation). */
  async refresh(lifetimeS) {
    const attrs = lifetimeS === undefined ? [] : [attr(lifetime, lifetimeS)];
    const answer = await this.#authenticated('refresh', Method.Refresh, attrs);
    return answer.get(lifetime);
  }

  /** CreatePermission for a peer address (RFC 8656 §10). */
  async createPermission(peer) {
    await this.#authenticated('create-permission', Method.CreatePermission, [
      attr(xorPeerAddress, { family: 4, address: peer.address, port: peer.port }),
    ]);
  }

  /** ChannelBind (RFC 8656 §11): also installs or refreshes the peer's permission. */
  async channelBind(channel, peer) {
    await this.#authenticated('channel-bind', Method.ChannelBind, [
      attr(channelNumber, channel),
      attr(xorPeerAddress, { family: 4, address: peer.address, port: peer.port }),
    ]);
  }

  /** Sends one ChannelData message (RFC 8656 §12). */
  sendChannelData(channel, data) {
    if (this.#closed) return;
    this.#socket.send(
      encodeChannelData(channel, data, false),
      this.#server.port,
      this.#server.host,
    );
  }

  /** The local port of the socket. */
  get localPort() {
    return this.#socket.address().port;
  }

  /** Closes the socket; pending requests fail. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#pending.values()) entry.fail(new TurnRequestError('closed', 0, ''));
    this.#pending.clear();
    this.#socket.close();
  }

  async #authenticated(what, method, attrs) {
    if (this.#key === undefined) {
      const challenge = await this.#send(what, method, attrs, false);
      this.#learn(challenge);
    }
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#send(what, method, attrs, true);
      if (answer.messageClass === MessageClass.SuccessResponse) return answer;
      const failure = answer.get(errorCode);
      const code = failure?.code ?? 0;
      // 401 with a new nonce (credentials changed) or 438 (stale nonce): retry once more.
      if ((code === 438 || code === 401) && attempt < 2) {
        this.#learn(answer);
        continue;
      }
      throw new TurnRequestError(what, code, failure?.reason ?? '');
    }
  }

  #learn(answer) {
    const r = answer.get(realm);
    const n = answer.get(nonce);
    if (r === undefined || n === undefined) {
      const failure = answer.get(errorCode);
      throw new TurnRequestError('challenge', failure?.code ?? 0, failure?.reason ?? 'no nonce');
    }
    if (r !== this.#realm || this.#key === undefined) {
      this.#realm = r;
      this.#key = longTermKey(
        this.#user,
        r,
        this.#password,
        PasswordAlgorithmId.Md5,
        nodeStunCrypto,
      );
    }
    this.#nonce = n;
  }

  #send(what, method, attrs, signed) {
    const transactionId = new Uint8Array(randomBytes(12));
    const all = signed
      ? [...attrs, attr(username, this.#user), attr(realm, this.#realm), attr(nonce, this.#nonce)]
      : attrs;
    const bytes = encodeMessage(
      {
        method,
        messageClass: MessageClass.Request,
        transactionId,
        attributes: all,
        integrityKey: signed ? this.#key : undefined,
        fingerprint: true,
      },
      nodeStunCrypto,
    );
    const id = Buffer.from(transactionId).toString('hex');
    return new Promise((resolve, reject) => {
      let timer;
      let sends = 0;
      const transmit = () => {
        if (this.#closed) return;
        this.#socket.send(bytes, this.#server.port, this.#server.host);
        const waitMs = RTO_MS[sends] ?? 4000;
        sends++;
        timer = setTimeout(() => {
          if (sends < RTO_MS.length) return transmit();
          this.#pending.delete(id);
          reject(new TurnRequestError(what, 0, ''));
        }, waitMs);
      };
      this.#pending.set(id, {
        done: (message) => {
          clearTimeout(timer);
          this.#pending.delete(id);
          resolve(message);
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      transmit();
    });
  }

  #onMessage(bytes) {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (isChannelData(view)) {
      const cd = decodeChannelData(view);
      this.onData?.(cd.channelNumber, cd.data);
      return;
    }
    let message;
    try {
      message = decodeMessage(view);
    } catch {
      return;
    }
    const id = Buffer.from(message.transactionId).toString('hex');
    this.#pending.get(id)?.done(message);
  }
}

/** A UDP echo peer: every datagram goes back to where it came from. */
export async function startEchoPeer(host = '127.0.0.1') {
  const socket = dgram.createSocket('udp4');
  let echoed = 0;
  socket.on('message', (bytes, from) => {
    echoed++;
    socket.send(bytes, from.port, from.address);
  });
  await new Promise((resolve) => socket.bind(0, host, resolve));
  return {
    address: host,
    port: socket.address().port,
    echoed: () => echoed,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
