/**
 * RequestContext: one STUN request being handled, with helpers that build its response.
 * Protocol rejections are responses, not exceptions (STYLE §6).
 * @module
 */
import {
  ERROR_REASONS,
  MessageClass,
  attr,
  encodeMessage,
  errorCode,
  nonce,
  passwordAlgorithms,
  realm,
  software,
  unknownAttributes,
} from '@cloudproxy/stun';
import type { AttributeEntry, ErrorCode, StunCrypto, StunMessage } from '@cloudproxy/stun';
import { SERVER_PASSWORD_ALGORITHMS } from './auth.js';
import type { NonceIssuer } from './nonce.js';
import type { ResolvedCoreOptions } from './options-resolve.js';
import { countKey } from './stats.js';
import type { TurnStats } from './stats.js';
import type { ClientRef, TurnAction } from './types.js';

/** Keys that sign a response: the request's long-term key and its integrity flavour. */
export interface ResponseSigner {
  readonly key: Uint8Array;
  readonly sha256: boolean;
}

/** Shared, long-lived services a request handler uses. */
export interface HandlerServices {
  readonly options: ResolvedCoreOptions;
  readonly crypto: StunCrypto;
  readonly nonces: NonceIssuer;
  readonly stats: TurnStats;
}

/** RequestContext carries one request, its client, the time and the actions produced so far. */
export class RequestContext {
  readonly msg: StunMessage;
  readonly client: ClientRef;
  readonly nowMs: number;
  readonly out: TurnAction[];
  /** Set once the request is authenticated: later responses, errors included, are signed. */
  signer: ResponseSigner | undefined;
  readonly #services: HandlerServices;

  constructor(init: {
    msg: StunMessage;
    client: ClientRef;
    nowMs: number;
    out: TurnAction[];
    services: HandlerServices;
  }) {
    this.msg = init.msg;
    this.client = init.client;
    this.nowMs = init.nowMs;
    this.out = init.out;
    this.#services = init.services;
  }

  /** Builds the success response with `attributes`, signed when `signer` is given. */
  successBytes(attributes: readonly AttributeEntry[], signer?: ResponseSigner): Uint8Array {
    return this.#encode(MessageClass.SuccessResponse, attributes, signer);
  }

  /** Sends a success response. */
  succeed(attributes: readonly AttributeEntry[], signer?: ResponseSigner): void {
    this.send(this.successBytes(attributes, signer));
  }

  /** Sends bytes to the client. */
  send(data: Uint8Array): void {
    this.out.push({ type: 'send-client', client: this.client, data });
  }

  /**
   * Sends an error response with `code` and emits a diagnostic with the internal `cause`.
   * 401 and 438 carry REALM, a fresh NONCE and PASSWORD-ALGORITHMS (RFC 8489 §9.2.4).
   */
  reject(
    code: ErrorCode,
    cause: string,
    options: { signer?: ResponseSigner | undefined; extra?: readonly AttributeEntry[] } = {},
  ): void {
    const { stats, options: opts, nonces } = this.#services;
    countKey(stats.errorResponses, code);
    const attributes: AttributeEntry[] = [attr(errorCode, { code, reason: ERROR_REASONS[code] })];
    if (code === 401 || code === 438) {
      attributes.push(
        attr(realm, opts.realm),
        attr(nonce, nonces.issue(this.client.remote.address, this.nowMs)),
        attr(passwordAlgorithms, SERVER_PASSWORD_ALGORITHMS),
      );
    }
    if (options.extra) attributes.push(...options.extra);
    this.send(this.#encode(MessageClass.ErrorResponse, attributes, options.signer));
    this.out.push({
      type: 'emit',
      event: {
        type: 'request.rejected',
        client: this.client,
        method: this.msg.method,
        code,
        cause,
      },
    });
  }

  /** Rejects with 420 listing the unknown comprehension-required attributes. RFC 8489 §6.3.1. */
  rejectUnknown(types: readonly number[], signer?: ResponseSigner): void {
    this.reject(420, `unknown attributes ${types.map((t) => `0x${t.toString(16)}`).join(',')}`, {
      signer,
      extra: [attr(unknownAttributes, [...types])],
    });
  }

  #encode(
    messageClass: MessageClass,
    attributes: readonly AttributeEntry[],
    signer: ResponseSigner | undefined,
  ): Uint8Array {
    const name = this.#services.options.software;
    const all = name === false ? attributes : [...attributes, attr(software, name)];
    return encodeMessage(
      {
        method: this.msg.method,
        messageClass,
        transactionId: this.msg.transactionId,
        attributes: all,
        integrityKey: signer && !signer.sha256 ? signer.key : undefined,
        integritySha256Key: signer?.sha256 ? signer.key : undefined,
        fingerprint: true,
      },
      this.#services.crypto,
    );
  }
}
