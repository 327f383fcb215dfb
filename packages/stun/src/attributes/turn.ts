/**
 * TURN attributes: CHANNEL-NUMBER, LIFETIME, DATA, the address-family attributes, EVEN-PORT,
 * REQUESTED-TRANSPORT, DONT-FRAGMENT, RESERVATION-TOKEN, ICMP (RFC 8656) and CONNECTION-ID (RFC 6062).
 * @module
 */
import { checkSize, checkUint } from '../attribute.js';
import { readU32, readU8, writeU32 } from '../bytes.js';
import { AttrType } from '../constants.js';
import type { AttributeCodec, IcmpValue } from '../types.js';
import {
  bytesAttribute,
  flagAttribute,
  paddedUint16Attribute,
  paddedUint8Attribute,
  uint32Attribute,
} from './primitives.js';

/** Size of RESERVATION-TOKEN. RFC 8656 §18.10. */
export const RESERVATION_TOKEN_SIZE = 8;
/** Size of the EVEN-PORT value. RFC 8656 §18.7. */
const EVEN_PORT_SIZE = 1;
/** The R bit of EVEN-PORT: reserve the next-higher port too. RFC 8656 §18.7. */
const EVEN_PORT_RESERVE_BIT = 0x80;
/** Reserved(2) + type(1) + code(1) + error data(4). RFC 8656 §18.13. */
const ICMP_SIZE = 8;

/**
 * CHANNEL-NUMBER: 16-bit channel number plus 2 RFFU bytes. Not range-checked here: the
 * server answers an out-of-range number with 400 (RFC 8656 §12.2). RFC 8656 §18.1.
 */
export const channelNumber = paddedUint16Attribute(AttrType.ChannelNumber, 'CHANNEL-NUMBER');

/** LIFETIME: seconds until the allocation expires without a refresh. RFC 8656 §18.2. */
export const lifetime = uint32Attribute(AttrType.Lifetime, 'LIFETIME');

/** DATA: the application data of Send and Data indications (a view of the input). RFC 8656 §18.4. */
export const data = bytesAttribute(AttrType.Data, 'DATA');

/**
 * REQUESTED-ADDRESS-FAMILY: family byte (0x01 IPv4, 0x02 IPv6) plus 3 RFFU bytes. Any byte value
 * decodes; the server answers unknown families with 440. RFC 8656 §18.6.
 */
export const requestedAddressFamily = paddedUint8Attribute(
  AttrType.RequestedAddressFamily,
  'REQUESTED-ADDRESS-FAMILY',
);

/** ADDITIONAL-ADDRESS-FAMILY: request a second (IPv6) relayed address. Same layout as REQUESTED-ADDRESS-FAMILY. RFC 8656 §18.11. */
export const additionalAddressFamily = paddedUint8Attribute(
  AttrType.AdditionalAddressFamily,
  'ADDITIONAL-ADDRESS-FAMILY',
);

/** EVEN-PORT: request an even relay port; `true` if the R bit asks to reserve the next port. RFC 8656 §18.7. */
export const evenPort: AttributeCodec<boolean> = {
  type: AttrType.EvenPort,
  name: 'EVEN-PORT',
  encode: (reserve) => Uint8Array.of(reserve ? EVEN_PORT_RESERVE_BIT : 0),
  decode(bytes) {
    checkSize('EVEN-PORT', bytes.length, EVEN_PORT_SIZE);
    return (readU8(bytes, 0) & EVEN_PORT_RESERVE_BIT) !== 0;
  },
};

/** REQUESTED-TRANSPORT: IANA protocol number of the relay (17 UDP, 6 TCP) plus 3 RFFU bytes. RFC 8656 §18.8. */
export const requestedTransport = paddedUint8Attribute(
  AttrType.RequestedTransport,
  'REQUESTED-TRANSPORT',
);

/** DONT-FRAGMENT: ask the server to set DF on relayed packets; empty value, decoded as `true`. RFC 8656 §18.9. */
export const dontFragment = flagAttribute(AttrType.DontFragment, 'DONT-FRAGMENT');

/** RESERVATION-TOKEN: 8-byte token naming a reserved relay port (a view of the input). RFC 8656 §18.10. */
export const reservationToken = bytesAttribute(AttrType.ReservationToken, 'RESERVATION-TOKEN', {
  size: RESERVATION_TOKEN_SIZE,
});

/** ICMP: an ICMP error the relay received from a peer (type, code, error data). RFC 8656 §18.13. */
export const icmp: AttributeCodec<IcmpValue> = {
  type: AttrType.Icmp,
  name: 'ICMP',
  encode(value) {
    checkUint('ICMP', value.type, 0xff);
    checkUint('ICMP', value.code, 0xff);
    checkUint('ICMP', value.errorData, 0xffffffff);
    const out = new Uint8Array(ICMP_SIZE);
    out[2] = value.type;
    out[3] = value.code;
    writeU32(out, 4, value.errorData);
    return out;
  },
  decode(bytes) {
    checkSize('ICMP', bytes.length, ICMP_SIZE);
    return { type: readU8(bytes, 2), code: readU8(bytes, 3), errorData: readU32(bytes, 4) };
  },
};

/** CONNECTION-ID: identifies a TURN-TCP peer data connection. RFC 6062 §6.2.1. */
export const connectionId = uint32Attribute(AttrType.ConnectionId, 'CONNECTION-ID');
