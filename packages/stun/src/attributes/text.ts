/**
 * UTF-8 text attributes: USERNAME, REALM, NONCE, SOFTWARE and ALTERNATE-DOMAIN.
 * @module
 */
import { AttrType } from '../constants.js';
import { textAttribute } from './primitives.js';

/** Largest USERNAME value in bytes. RFC 8489 §14.3 (the RFC 5389 limit, kept for old clients). */
export const MAX_USERNAME_BYTES = 513;
/** Largest REALM, NONCE, SOFTWARE or reason-phrase value in bytes (128 characters). RFC 8489 §14.9. */
export const MAX_TEXT_BYTES = 763;
/** Largest ALTERNATE-DOMAIN value in bytes (a DNS name). RFC 8489 §14.16. */
export const MAX_DOMAIN_BYTES = 255;

/** USERNAME: the user name and password realm key for message integrity. RFC 8489 §14.3. */
export const username = textAttribute(AttrType.Username, 'USERNAME', MAX_USERNAME_BYTES);

/** REALM: the long-term credential realm, sent by servers in 401 responses. RFC 8489 §14.9. */
export const realm = textAttribute(AttrType.Realm, 'REALM', MAX_TEXT_BYTES);

/** NONCE: the server's nonce for long-term credentials (may carry the RFC 8489 §9.2 cookie). RFC 8489 §14.10. */
export const nonce = textAttribute(AttrType.Nonce, 'NONCE', MAX_TEXT_BYTES);

/** SOFTWARE: a textual description of the sender's software. RFC 8489 §14.14. */
export const software = textAttribute(AttrType.Software, 'SOFTWARE', MAX_TEXT_BYTES);

/** ALTERNATE-DOMAIN: the DNS name of the alternate server, for TLS certificate checks. RFC 8489 §14.16. */
export const alternateDomain = textAttribute(
  AttrType.AlternateDomain,
  'ALTERNATE-DOMAIN',
  MAX_DOMAIN_BYTES,
);
