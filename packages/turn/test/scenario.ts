/**
 * Test helpers: drive TurnServerCore with real STUN messages and a FakeClock, no sockets.
 * @module
 */
import {
  MessageClass,
  Method,
  PasswordAlgorithmId,
  attr,
  computeUserhash,
  decodeMessage,
  errorCode as errorCodeAttr,
  encodeMessage,
  longTermKey,
  newTransactionId,
  nonce as nonceAttr,
  passwordAlgorithm,
  passwordAlgorithms,
  realm as realmAttr,
  requestedTransport,
  username as usernameAttr,
  userhash as userhashAttr,
} from '@cloudproxy/stun';
import type {
  AttributeEntry,
  PasswordAlgorithmValue,
  StunMessage,
  TransportAddress,
} from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { FakeClock } from '../src/clock.js';
import type { TurnCoreOptions } from '../src/options.js';
import { TurnServerCore } from '../src/server-core.js';
import type { ClientRef, RelayBinding, RelayRequest, TurnAction, Transport } from '../src/types.js';

export const SECRET = 'north';
export const USERS = { alice: 'wonderland', bob: 'builder' };

/** A core with static users alice/bob, a REST secret and loopback peers allowed. */
export function makeCore(options: Partial<TurnCoreOptions> = {}): {
  core: TurnServerCore;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  const core = new TurnServerCore(
    {
      realm: 'example.org',
      auth: { users: USERS, staticAuthSecrets: [SECRET] },
      peerPolicy: { allowLoopbackPeers: true },
      ...options,
    },
    { clock, crypto: nodeStunCrypto },
  );
  core.setOwnAddresses(['44.0.0.10'], { min: 49152, max: 65535 });
  return { core, clock };
}

/** How `build` signs a request. */
export interface BuildOptions {
  signed?: boolean;
  transactionId?: Uint8Array;
  sha256?: boolean;
  /** PASSWORD-ALGORITHM to use (with `algorithms` echoed in PASSWORD-ALGORITHMS). */
  algorithm?: PasswordAlgorithmId;
  algorithms?: PasswordAlgorithmValue[];
  /** Send USERHASH instead of USERNAME. */
  userhash?: boolean;
}

/** What a client received: raw frames and ChannelData. */
export interface Received {
  readonly messages: Uint8Array[];
  readonly channelData: { channelNumber: number; payload: Uint8Array }[];
}

let nextPort = 40000;
let nextRelayId = 1;

/** A fake relay binding whose sends are recorded. */
export function fakeRelay(
  family: 4 | 6,
  port: number,
  sent: { data: Uint8Array; port: number; address: string }[],
): RelayBinding {
  const address = family === 4 ? '44.0.0.10' : '2a00:1::10';
  return {
    relayId: nextRelayId++,
    local: { family, address, port },
    advertised: { family, address, port },
    sink: {
      send: (data, peerPort, peerAddress) =>
        sent.push({ data, port: peerPort, address: peerAddress }),
    },
  };
}

/** ScenarioClient speaks TURN to the core like a real client would. */
export class ScenarioClient {
  readonly ref: ClientRef;
  readonly received: Received = { messages: [], channelData: [] };
  readonly peerSends: { data: Uint8Array; port: number; address: string }[] = [];
  username: string;
  password: string;
  realm: string | undefined;
  nonce: string | undefined;
  lastActions: TurnAction[] = [];
  relayPort = 50000;
  autoBind = true;
  /** Ids of the relays bound for this client. */
  readonly relayIds: number[] = [];

  constructor(
    readonly core: TurnServerCore,
    options: {
      username?: string;
      password?: string;
      transport?: Transport;
      address?: string;
      port?: number;
    } = {},
  ) {
    this.username = options.username ?? 'alice';
    this.password = options.password ?? USERS.alice;
    const transport = options.transport ?? 'udp';
    const remote: TransportAddress = {
      family: 4,
      address: options.address ?? '198.51.100.7',
      port: options.port ?? nextPort++,
    };
    this.ref = {
      key: `${transport}|${remote.address}|${remote.port}`,
      transport,
      remote,
      local: { family: 4, address: '192.0.2.10', port: 3478 },
      sink: {
        send: (data) => this.received.messages.push(data),
        sendChannelData: (channelNumber, payload) =>
          this.received.channelData.push({ channelNumber, payload }),
      },
    };
  }

  /** Sends raw bytes and performs the resulting actions like the driver would; returns them. */
  sendRaw(data: Uint8Array): TurnAction[] {
    this.lastActions = [];
    this.execute(this.core.handleClientPacket(this.ref, data));
    return this.lastActions;
  }

  /** Performs actions: sends to this client, records peer sends, answers open-relay with fake relays. */
  execute(actions: TurnAction[]): void {
    this.lastActions.push(...actions);
    for (const action of actions) {
      if (action.type === 'send-client') action.client.sink.send(action.data);
      else if (action.type === 'send-peer')
        this.peerSends.push({
          data: action.data,
          port: action.peer.port,
          address: action.peer.address,
        });
      else if (action.type === 'open-relay' && this.autoBind) {
        const request: RelayRequest = action.request;
        const relays = request.families.map((family) =>
          fakeRelay(family, this.relayPort, this.peerSends),
        );
        this.relayIds.push(...relays.map((r) => r.relayId));
        const reserved = request.reserveNextPort
          ? fakeRelay(4, this.relayPort + 1, this.peerSends)
          : undefined;
        this.execute(
          this.core.handleRelayBound({
            requestId: request.requestId,
            relays,
            unsupportedFamilies: [],
            reserved,
          }),
        );
      }
    }
  }

  /** Builds a request; signed with the long-term key when `signed`. */
  build(method: number, attributes: AttributeEntry[], options: BuildOptions = {}): Uint8Array {
    const signed = options.signed ?? true;
    const all = [...attributes];
    let key: Uint8Array | undefined;
    if (signed && this.realm !== undefined && this.nonce !== undefined) {
      const algorithm = options.algorithm ?? PasswordAlgorithmId.Md5;
      all.push(
        options.userhash
          ? attr(userhashAttr, computeUserhash(this.username, this.realm, nodeStunCrypto))
          : attr(usernameAttr, this.username),
        attr(realmAttr, this.realm),
        attr(nonceAttr, this.nonce),
      );
      if (options.algorithms) {
        all.push(attr(passwordAlgorithms, options.algorithms));
        all.push(attr(passwordAlgorithm, { algorithm, parameters: new Uint8Array(0) }));
      }
      key = longTermKey(this.username, this.realm, this.password, algorithm, nodeStunCrypto);
    }
    return encodeMessage(
      {
        method,
        messageClass: MessageClass.Request,
        transactionId: options.transactionId ?? newTransactionId(),
        attributes: all,
        integrityKey: options.sha256 ? undefined : key,
        integritySha256Key: options.sha256 ? key : undefined,
        fingerprint: true,
      },
      nodeStunCrypto,
    );
  }

  /** Sends a request, learning REALM/NONCE from a 401/438 and retrying once signed. */
  request(
    method: number,
    attributes: AttributeEntry[] = [],
    options: BuildOptions = {},
  ): StunMessage {
    let response = this.#roundTrip(this.build(method, attributes, options));
    const code = errorCodeOf(response);
    if ((code === 401 || code === 438) && this.#learn(response)) {
      response = this.#roundTrip(this.build(method, attributes, options));
    }
    return response;
  }

  /** Allocates (UDP relay), answering the core's open-relay action with a fake relay. */
  allocate(attributes: AttributeEntry[] = [], options: BuildOptions = {}): StunMessage {
    return this.request(Method.Allocate, [attr(requestedTransport, 17), ...attributes], options);
  }

  /** Learns REALM and NONCE from the 401 to an unsigned request. */
  prime(): void {
    this.#learn(this.#roundTrip(this.build(Method.Refresh, [], { signed: false })));
  }

  #learn(response: StunMessage): boolean {
    const realm = response.get(realmAttr);
    const nonce = response.get(nonceAttr);
    if (realm === undefined || nonce === undefined) return false;
    const changed = nonce !== this.nonce;
    this.realm = realm;
    this.nonce = nonce;
    return changed;
  }

  #roundTrip(request: Uint8Array): StunMessage {
    const before = this.received.messages.length;
    this.sendRaw(request);
    const response = this.received.messages[before];
    if (!response)
      throw new Error(`no response; actions: ${this.lastActions.map((a) => a.type).join(',')}`);
    return decodeMessage(response);
  }
}

/** The error code of a response, or undefined for a success. */
export function errorCodeOf(msg: StunMessage): number | undefined {
  if (msg.messageClass !== MessageClass.ErrorResponse) return undefined;
  return msg.get(errorCodeAttr)?.code;
}
