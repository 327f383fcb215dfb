/**
 * @cloudproxy/stun: pure, browser-safe STUN/TURN wire codec (RFC 8489, RFC 8656, RFC 6156, RFC 6062).
 * @module
 */
export {
  MAGIC_COOKIE,
  HEADER_LENGTH,
  TRANSACTION_ID_LENGTH,
  ATTRIBUTE_HEADER_LENGTH,
  CHANNEL_DATA_HEADER_LENGTH,
  MIN_CHANNEL_NUMBER,
  MAX_CHANNEL_NUMBER,
  MAX_LEGACY_CHANNEL_NUMBER,
  FINGERPRINT_XOR,
  MAX_MESSAGE_LENGTH,
  Method,
  MessageClass,
  AttrType,
  ErrorCode,
  ERROR_REASONS,
  AddressFamily,
  PasswordAlgorithmId,
  TransportProtocol,
  isComprehensionRequired,
} from './constants.js';
export type {
  TransportAddress,
  CodecContext,
  AttributeCodec,
  AttributeEntry,
  RawAttribute,
  StunCrypto,
  MessageSpec,
  ChannelData,
  ErrorCodeValue,
  AddressErrorCodeValue,
  PasswordAlgorithmValue,
  IcmpValue,
  ChangeRequestValue,
  TransmitCounterValue,
} from './types.js';
export { StunDecodeError, StunEncodeError, StunOptionError, STUN_ERROR_CODES } from './errors.js';
export type { StunErrorOptions, StunErrorCodeEntry } from './errors.js';
export { attr, rawAttr } from './attribute.js';
export {
  mappedAddress,
  xorMappedAddress,
  xorPeerAddress,
  xorRelayedAddress,
  alternateServer,
  responseOrigin,
  otherAddress,
  username,
  realm,
  nonce,
  software,
  alternateDomain,
  messageIntegrity,
  messageIntegritySha256,
  fingerprint,
  errorCode,
  unknownAttributes,
  channelNumber,
  lifetime,
  data,
  requestedAddressFamily,
  additionalAddressFamily,
  addressErrorCode,
  evenPort,
  requestedTransport,
  dontFragment,
  reservationToken,
  passwordAlgorithm,
  passwordAlgorithms,
  userhash,
  accessToken,
  icmp,
  connectionId,
  priority,
  useCandidate,
  iceControlled,
  iceControlling,
  changeRequest,
  responsePort,
  padding,
  cacheTimeout,
  transactionTransmitCounter,
  ATTRIBUTE_CODECS,
  attributeName,
} from './attributes/index.js';
export { StunMessage, decodeMessage, isStunMessage, readMessageHeader } from './message.js';
export type { MessageHeader, StunMessageInit } from './message.js';
export { encodeMessageType, decodeMessageType } from './message-type.js';
export type { MessageType } from './message-type.js';
export { encodeMessage, newTransactionId } from './encode.js';
export {
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  verifyFingerprint,
  longTermKey,
  computeUserhash,
} from './integrity.js';
export { saslprep } from './saslprep.js';
export { parseIpAddress, formatIpAddress } from './ip-address.js';
export { crc32 } from './crc32.js';
export {
  isChannelData,
  decodeChannelData,
  encodeChannelData,
  writeChannelDataHeader,
} from './channel-data.js';
export { StreamFramer } from './stream-framer.js';
export type { StreamFramerOptions, FrameKind, FrameHandler } from './stream-framer.js';
