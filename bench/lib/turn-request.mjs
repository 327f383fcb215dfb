/**
 * One TURN request as the benchmark's load clients send it (bench/lib/turn-client.mjs over UDP,
 * bench/lib/tls-load-child.mjs over TLS), on the project's codec: with long-term credentials
 * (USERNAME, REALM, NONCE and MESSAGE-INTEGRITY) when `auth` is given.
 * @module
 */
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const stun = await import(path.join(REPO_ROOT, 'packages/stun/dist/index.js'));
const { nodeStunCrypto } = await import(path.join(REPO_ROOT, 'packages/stun/dist/node-crypto.js'));

/**
 * Encodes a request; returns its transaction id and bytes.
 * @param {number} method
 * @param {object[]} attributes
 * @param {{ user: string, realm: string, nonce: string, key: Uint8Array } | undefined} auth
 * @param {boolean} fingerprint
 */
export function encodeTurnRequest(method, attributes, auth, fingerprint) {
  const all = [...attributes];
  if (auth) {
    all.push(stun.attr(stun.username, auth.user), stun.attr(stun.realm, auth.realm));
    all.push(stun.attr(stun.nonce, auth.nonce));
  }
  const transactionId = stun.newTransactionId();
  const bytes = stun.encodeMessage(
    {
      method,
      messageClass: stun.MessageClass.Request,
      transactionId,
      attributes: all,
      integrityKey: auth?.key,
      fingerprint,
    },
    nodeStunCrypto,
  );
  return { transactionId, bytes };
}
