/**
 * The listeners' TLS 1.2 cipher suites, for the TLS tests of the addon: a copy of
 * packages/turn/src/node/tls-policy.ts (TLS12_CIPHERS), which this package cannot import.
 * @module
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
