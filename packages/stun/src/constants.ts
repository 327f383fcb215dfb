/**
 * STUN and TURN protocol constants: methods, classes, attribute types and error codes.
 * Values from the IANA "STUN Parameters" registry; RFC 8489, RFC 8656, RFC 6156, RFC 6062, RFC 5780.
 * @module
 */

/** The fixed magic cookie in every STUN header. RFC 8489 §5. */
export const MAGIC_COOKIE = 0x2112a442;
/** STUN header size in bytes. RFC 8489 §5. */
export const HEADER_LENGTH = 20;
/** Transaction ID size in bytes. RFC 8489 §5. */
export const TRANSACTION_ID_LENGTH = 12;
/** Attribute header (type + length) size in bytes. RFC 8489 §14. */
export const ATTRIBUTE_HEADER_LENGTH = 4;
/** ChannelData header (channel number + length) size in bytes. RFC 8656 §12.4. */
export const CHANNEL_DATA_HEADER_LENGTH = 4;
/** Lowest valid channel number. RFC 8656 §12. */
export const MIN_CHANNEL_NUMBER = 0x4000;
/** Highest channel number a client should pick. RFC 8656 §12. */
export const MAX_CHANNEL_NUMBER = 0x4fff;
/**
 * Highest channel number accepted on the wire: RFC 5766 §11 allowed 0x4000-0x7FFF and clients
 * still use it (coturn's turnutils_uclient among them); the range never collides with STUN.
 */
export const MAX_LEGACY_CHANNEL_NUMBER = 0x7fff;
/** XOR constant of the FINGERPRINT attribute ("STUN" in ASCII). RFC 8489 §14.7. */
export const FINGERPRINT_XOR = 0x5354554e;
/** Largest STUN message or ChannelData we accept (fits a 16-bit length plus header). */
export const MAX_MESSAGE_LENGTH = 0xffff + HEADER_LENGTH;

/** STUN methods. RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1. */
export const Method = {
  Binding: 0x001, // Binding
  Allocate: 0x003, // Allocate
  Refresh: 0x004, // Refresh
  Send: 0x006, // Send
  Data: 0x007, // Data
  CreatePermission: 0x008, // CreatePermission
  ChannelBind: 0x009, // ChannelBind
  Connect: 0x00a, // Connect
  ConnectionBind: 0x00b, // ConnectionBind
  ConnectionAttempt: 0x00c, // ConnectionAttempt
} as const;
export type Method = (typeof Method)[keyof typeof Method];

/** STUN message classes. RFC 8489 §5. */
export const MessageClass = {
  Request: 0b00, // request
  Indication: 0b01, // indication
  SuccessResponse: 0b10, // success response
  ErrorResponse: 0b11, // error response
} as const;
export type MessageClass = (typeof MessageClass)[keyof typeof MessageClass];

/** STUN attribute types. RFC 8489 §18.3, RFC 8656 §18, RFC 6156, RFC 6062, RFC 5780, RFC 8445, RFC 7635. */
export const AttrType = {
  MappedAddress: 0x0001, // MAPPED-ADDRESS
  ChangeRequest: 0x0003, // CHANGE-REQUEST (RFC 5780)
  Username: 0x0006, // USERNAME
  MessageIntegrity: 0x0008, // MESSAGE-INTEGRITY
  ErrorCode: 0x0009, // ERROR-CODE
  UnknownAttributes: 0x000a, // UNKNOWN-ATTRIBUTES
  ChannelNumber: 0x000c, // CHANNEL-NUMBER
  Lifetime: 0x000d, // LIFETIME
  XorPeerAddress: 0x0012, // XOR-PEER-ADDRESS
  Data: 0x0013, // DATA
  Realm: 0x0014, // REALM
  Nonce: 0x0015, // NONCE
  XorRelayedAddress: 0x0016, // XOR-RELAYED-ADDRESS
  RequestedAddressFamily: 0x0017, // REQUESTED-ADDRESS-FAMILY
  EvenPort: 0x0018, // EVEN-PORT
  RequestedTransport: 0x0019, // REQUESTED-TRANSPORT
  DontFragment: 0x001a, // DONT-FRAGMENT
  AccessToken: 0x001b, // ACCESS-TOKEN (RFC 7635)
  MessageIntegritySha256: 0x001c, // MESSAGE-INTEGRITY-SHA256
  PasswordAlgorithm: 0x001d, // PASSWORD-ALGORITHM
  Userhash: 0x001e, // USERHASH
  XorMappedAddress: 0x0020, // XOR-MAPPED-ADDRESS
  ReservationToken: 0x0022, // RESERVATION-TOKEN
  Priority: 0x0024, // PRIORITY (RFC 8445)
  UseCandidate: 0x0025, // USE-CANDIDATE (RFC 8445)
  Padding: 0x0026, // PADDING (RFC 5780)
  ResponsePort: 0x0027, // RESPONSE-PORT (RFC 5780)
  ConnectionId: 0x002a, // CONNECTION-ID (RFC 6062)
  AdditionalAddressFamily: 0x8000, // ADDITIONAL-ADDRESS-FAMILY
  AddressErrorCode: 0x8001, // ADDRESS-ERROR-CODE
  PasswordAlgorithms: 0x8002, // PASSWORD-ALGORITHMS
  AlternateDomain: 0x8003, // ALTERNATE-DOMAIN
  Icmp: 0x8004, // ICMP
  Software: 0x8022, // SOFTWARE
  AlternateServer: 0x8023, // ALTERNATE-SERVER
  TransactionTransmitCounter: 0x8025, // TRANSACTION_TRANSMIT_COUNTER (RFC 7982)
  CacheTimeout: 0x8027, // CACHE-TIMEOUT (RFC 5780)
  Fingerprint: 0x8028, // FINGERPRINT
  IceControlled: 0x8029, // ICE-CONTROLLED (RFC 8445)
  IceControlling: 0x802a, // ICE-CONTROLLING (RFC 8445)
  ResponseOrigin: 0x802b, // RESPONSE-ORIGIN (RFC 5780)
  OtherAddress: 0x802c, // OTHER-ADDRESS (RFC 5780)
} as const;
export type AttrType = (typeof AttrType)[keyof typeof AttrType];

/** Attribute types 0x0000-0x7FFF are comprehension-required. RFC 8489 §14. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** STUN/TURN error codes. RFC 8489 §14.8, RFC 8656 §18, RFC 6062, RFC 8445. */
export const ErrorCode = {
  TryAlternate: 300, // Try Alternate
  BadRequest: 400, // Bad Request
  Unauthenticated: 401, // Unauthenticated
  Forbidden: 403, // Forbidden
  MobilityForbidden: 405, // Mobility Forbidden
  UnknownAttribute: 420, // Unknown Attribute
  AllocationMismatch: 437, // Allocation Mismatch
  StaleNonce: 438, // Stale Nonce
  AddressFamilyNotSupported: 440, // Address Family not Supported
  WrongCredentials: 441, // Wrong Credentials
  UnsupportedTransportProtocol: 442, // Unsupported Transport Protocol
  PeerAddressFamilyMismatch: 443, // Peer Address Family Mismatch
  ConnectionAlreadyExists: 446, // Connection Already Exists
  ConnectionTimeoutOrFailure: 447, // Connection Timeout or Failure
  AllocationQuotaReached: 486, // Allocation Quota Reached
  RoleConflict: 487, // Role Conflict
  ServerError: 500, // Server Error
  InsufficientCapacity: 508, // Insufficient Capacity
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Default reason phrases for error codes (RFC 8489 §14.8, RFC 8656 §18). */
export const ERROR_REASONS: Readonly<Record<ErrorCode, string>> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  405: 'Mobility Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  446: 'Connection Already Exists',
  447: 'Connection Timeout or Failure',
  486: 'Allocation Quota Reached',
  487: 'Role Conflict',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** Address family values in address attributes. RFC 8489 §14.1, RFC 8656 §18.1 (REQUESTED-ADDRESS-FAMILY). */
export const AddressFamily = {
  IPv4: 0x01, // IPv4
  IPv6: 0x02, // IPv6
} as const;
export type AddressFamily = (typeof AddressFamily)[keyof typeof AddressFamily];

/** Password algorithm identifiers. RFC 8489 §18.5. */
export const PasswordAlgorithmId = {
  Md5: 0x0001, // MD5
  Sha256: 0x0002, // SHA-256
} as const;
export type PasswordAlgorithmId = (typeof PasswordAlgorithmId)[keyof typeof PasswordAlgorithmId];

/** IANA protocol numbers used in REQUESTED-TRANSPORT. RFC 8656 §18.6, RFC 6062. */
export const TransportProtocol = {
  Tcp: 6, // TCP
  Udp: 17, // UDP
} as const;
export type TransportProtocol = (typeof TransportProtocol)[keyof typeof TransportProtocol];
