/**
 * All attribute codecs and the attribute registry.
 * @module
 */
export {
  mappedAddress,
  xorMappedAddress,
  xorPeerAddress,
  xorRelayedAddress,
  alternateServer,
  responseOrigin,
  otherAddress,
} from './address.js';
export { username, realm, nonce, software, alternateDomain } from './text.js';
export { messageIntegrity, messageIntegritySha256, fingerprint } from './integrity.js';
export { userhash, accessToken, passwordAlgorithm, passwordAlgorithms } from './credentials.js';
export { errorCode, addressErrorCode } from './error-code.js';
export { unknownAttributes } from './unknown-attributes.js';
export {
  channelNumber,
  lifetime,
  data,
  requestedAddressFamily,
  additionalAddressFamily,
  evenPort,
  requestedTransport,
  dontFragment,
  reservationToken,
  icmp,
  connectionId,
} from './turn.js';
export { priority, useCandidate, iceControlled, iceControlling } from './ice.js';
export { changeRequest, responsePort, padding, cacheTimeout } from './nat-behavior.js';
export { transactionTransmitCounter } from './transmit-counter.js';
export { ATTRIBUTE_CODECS, attributeName } from './registry.js';
