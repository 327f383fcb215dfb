/**
 * The attribute registry: every codec of this package by wire type.
 * @module
 */
import type { AttributeCodec } from '../types.js';
import {
  alternateServer,
  mappedAddress,
  otherAddress,
  responseOrigin,
  xorMappedAddress,
  xorPeerAddress,
  xorRelayedAddress,
} from './address.js';
import { accessToken, passwordAlgorithm, passwordAlgorithms, userhash } from './credentials.js';
import { addressErrorCode, errorCode } from './error-code.js';
import { iceControlled, iceControlling, priority, useCandidate } from './ice.js';
import { fingerprint, messageIntegrity, messageIntegritySha256 } from './integrity.js';
import { cacheTimeout, changeRequest, padding, responsePort } from './nat-behavior.js';
import { alternateDomain, nonce, realm, software, username } from './text.js';
import { transactionTransmitCounter } from './transmit-counter.js';
import {
  additionalAddressFamily,
  channelNumber,
  connectionId,
  data,
  dontFragment,
  evenPort,
  icmp,
  lifetime,
  requestedAddressFamily,
  requestedTransport,
  reservationToken,
} from './turn.js';
import { unknownAttributes } from './unknown-attributes.js';

const ALL_CODECS: readonly AttributeCodec<unknown>[] = [
  mappedAddress,
  changeRequest,
  username,
  messageIntegrity,
  errorCode,
  unknownAttributes,
  channelNumber,
  lifetime,
  xorPeerAddress,
  data,
  realm,
  nonce,
  xorRelayedAddress,
  requestedAddressFamily,
  evenPort,
  requestedTransport,
  dontFragment,
  accessToken,
  messageIntegritySha256,
  passwordAlgorithm,
  userhash,
  xorMappedAddress,
  reservationToken,
  priority,
  useCandidate,
  padding,
  responsePort,
  connectionId,
  additionalAddressFamily,
  addressErrorCode,
  passwordAlgorithms,
  alternateDomain,
  icmp,
  software,
  alternateServer,
  transactionTransmitCounter,
  cacheTimeout,
  fingerprint,
  iceControlled,
  iceControlling,
  responseOrigin,
  otherAddress,
];

/**
 * Every attribute codec of this package by wire type. A comprehension-required type
 * (≤ 0x7FFF) missing here is reported in `StunMessage.unknownRequired`. RFC 8489 §18.3.
 */
export const ATTRIBUTE_CODECS: ReadonlyMap<number, AttributeCodec<unknown>> = new Map(
  ALL_CODECS.map((codec) => [codec.type, codec]),
);

/** The wire name of an attribute type (`"LIFETIME"`), or `"0x1234"` if it has no codec here. */
export function attributeName(type: number): string {
  return ATTRIBUTE_CODECS.get(type)?.name ?? `0x${type.toString(16).padStart(4, '0')}`;
}
