/**
 * A small TURN load client for the allocation-rate and scale sections, on the project's own
 * codec (@cloudproxy/stun, built in packages/stun/dist): one UDP socket (one client 5-tuple)
 * per allocation, long-term credentials, one outstanding request per socket, no
 * retransmission (on loopback a request unanswered within `timeoutMs` counts as an error).
 * @module
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { REPO_ROOT } from './proc.mjs';
import { TURN_USER, startTurnServer } from './servers.mjs';
import { encodeTurnRequest } from './turn-request.mjs';

const stun = await import(path.join(REPO_ROOT, 'packages/stun/dist/index.js'));
const { nodeStunCrypto } = await import(path.join(REPO_ROOT, 'packages/stun/dist/node-crypto.js'));

const UDP = 17;
const FIRST_CHANNEL = 0x4000;

/** Why one TURN transaction failed: `code` is `timeout`, `error-NNN` or `send-ERRNO`. */
export class TurnLoadError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Sessions (socket + credentials state) against one TURN server.
 * @param {{ host: string, port: number, user: { name: string, password: string },
 *   timeoutMs: number, localAddresses: string[] }} options
 */
export class TurnLoadClient {
  #options;
  #pending = new Set();
  #sessions = new Set();
  #keys = new Map();
  #opened = 0;
  #sweep;

  constructor(options) {
    this.#options = options;
    this.#sweep = setInterval(() => this.#expire(), 50);
  }

  /** Sessions currently open. */
  get size() {
    return this.#sessions.size;
  }

  /**
   * Opens a socket on the next local address, round-robin: consecutive sessions come from
   * different client IPs, as on a real server (whose per-IP limits, such as cloudproxy's
   * 100 401-answers/s per client IP, then see a fair load).
   */
  async open() {
    const { localAddresses } = this.#options;
    const address = localAddresses[this.#opened++ % localAddresses.length];
    const socket = dgram.createSocket('udp4');
    const session = { socket, pending: undefined, realm: undefined, nonce: undefined };
    socket.on('message', (buf) => this.#onMessage(session, buf));
    socket.on('error', (err) =>
      this.#fail(session, new TurnLoadError(`send-${err.code}`, err.message)),
    );
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port: 0 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#sessions.add(session);
    return session;
  }

  /**
   * Allocate (the 401 challenge, then authenticated), then, when `peer` is given,
   * CreatePermission and ChannelBind for it. Resolves the relayed address.
   */
  async allocate(session, { peer, lifetimeS } = {}) {
    const transport = [stun.attr(stun.requestedTransport, UDP)];
    if (lifetimeS) transport.push(stun.attr(stun.lifetime, lifetimeS));
    let allocated = await this.#request(session, stun.Method.Allocate, transport, false);
    if (allocated.messageClass === stun.MessageClass.ErrorResponse) {
      const realm = allocated.get(stun.realm);
      const nonce = allocated.get(stun.nonce);
      if (!realm || !nonce) throw errorOf(allocated, 'Allocate');
      session.realm = realm;
      session.nonce = nonce;
      allocated = await this.#authenticated(session, stun.Method.Allocate, transport);
    }
    const relayed = allocated.get(stun.xorRelayedAddress);
    if (!peer) return relayed;
    const peerAttr = stun.attr(stun.xorPeerAddress, { family: 4, ...peer });
    await this.#authenticated(session, stun.Method.CreatePermission, [peerAttr]);
    const channel = stun.attr(stun.channelNumber, FIRST_CHANNEL);
    await this.#authenticated(session, stun.Method.ChannelBind, [channel, peerAttr]);
    return relayed;
  }

  /** Refresh with `lifetimeS` (RFC 8656 §7). */
  async refresh(session, lifetimeS) {
    await this.#authenticated(session, stun.Method.Refresh, [stun.attr(stun.lifetime, lifetimeS)]);
  }

  /** Closes one session's socket. */
  close(session) {
    if (!this.#sessions.delete(session)) return;
    this.#fail(session, new TurnLoadError('closed', 'session closed'));
    session.socket.close();
  }

  /** Closes every socket and stops the timeout sweep. */
  closeAll() {
    clearInterval(this.#sweep);
    for (const session of [...this.#sessions]) this.close(session);
  }

  /** An authenticated request; a 438 (stale nonce) is retried once with the new nonce. */
  async #authenticated(session, method, attributes) {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#request(session, method, attributes, true);
      if (response.messageClass === stun.MessageClass.SuccessResponse) return response;
      const error = response.get(stun.errorCode);
      const nonce = response.get(stun.nonce);
      if (error?.code === 438 && nonce && attempt === 0) {
        session.nonce = nonce;
        continue;
      }
      throw errorOf(response, methodName(method));
    }
  }

  #request(session, method, attributes, auth) {
    const { user, host, port, timeoutMs } = this.#options;
    const credentials = auth
      ? {
          user: user.name,
          realm: session.realm,
          nonce: session.nonce,
          key: this.#key(session.realm),
        }
      : undefined;
    const { transactionId, bytes } = encodeTurnRequest(method, attributes, credentials, true);
    return new Promise((resolve, reject) => {
      session.pending = {
        transactionId,
        resolve,
        reject,
        deadlineMs: Date.now() + timeoutMs,
        method,
      };
      this.#pending.add(session);
      session.socket.send(bytes, port, host, (err) => {
        if (err) this.#fail(session, new TurnLoadError(`send-${err.code}`, err.message));
      });
    });
  }

  #key(realm) {
    let key = this.#keys.get(realm);
    if (!key) {
      const { name, password } = this.#options.user;
      key = stun.longTermKey(name, realm, password, stun.PasswordAlgorithmId.Md5, nodeStunCrypto);
      this.#keys.set(realm, key);
    }
    return key;
  }

  #onMessage(session, buf) {
    const pending = session.pending;
    if (!pending || buf.length < 20 || (buf[0] & 0xc0) !== 0) return;
    let message;
    try {
      message = stun.decodeMessage(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    } catch {
      return;
    }
    if (!Buffer.from(message.transactionId).equals(Buffer.from(pending.transactionId))) return;
    session.pending = undefined;
    this.#pending.delete(session);
    pending.resolve(message);
  }

  #fail(session, error) {
    const pending = session.pending;
    if (!pending) return;
    session.pending = undefined;
    this.#pending.delete(session);
    pending.reject(error);
  }

  #expire() {
    const now = Date.now();
    for (const session of this.#pending) {
      const pending = session.pending;
      if (pending && pending.deadlineMs <= now) {
        this.#fail(
          session,
          new TurnLoadError('timeout', `${methodName(pending.method)}: no answer`),
        );
      }
    }
  }
}

function methodName(method) {
  return Object.entries(stun.Method).find(([, v]) => v === method)?.[0] ?? `method ${method}`;
}

function errorOf(response, what) {
  const error = response.get(stun.errorCode);
  const code = error ? `error-${error.code}` : 'error-unknown';
  return new TurnLoadError(
    code,
    `${what}: ${error ? `${error.code} ${error.reason}` : 'error response'}`,
  );
}

/**
 * `count` loopback client addresses 127.0.1.1, 127.0.1.2, … (all of 127/8 is loopback on
 * Linux): spread over 1,000 addresses, 100k sockets need 100 ephemeral ports per address.
 */
export function clientAddresses(count = 1000) {
  const addresses = [];
  for (let i = 0; i < count; i++)
    addresses.push(`127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
  return addresses;
}

/**
 * Starts `impl` (`startTurnServer` with `relay`) and a TurnLoadClient against it as TURN_USER
 * from the loopback `clientAddresses()`. `stop()` closes the client's sessions, then the server.
 */
export async function startLoadTarget(ctx, impl, relay, timeoutMs) {
  const server = await startTurnServer(impl, relay, ctx.hasDataPlaneFlag);
  const client = new TurnLoadClient({
    host: '127.0.0.1',
    port: server.port,
    user: TURN_USER,
    timeoutMs,
    localAddresses: clientAddresses(),
  });
  return {
    server,
    client,
    async stop() {
      client.closeAll();
      await server.stop();
    },
  };
}
