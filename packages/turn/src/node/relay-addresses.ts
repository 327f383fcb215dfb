/**
 * Choosing relay addresses: concrete addresses to advertise when the relay binds a wildcard,
 * and the external-IP mapping for servers behind NAT (coturn `--external-ip`).
 * @module
 */
import os from 'node:os';
import type { RelayAddressOptions } from '../options.js';
import type { RelayAddress } from './relay-pool.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The first address of `family` on a non-internal interface, else the loopback address. */
function interfaceAddress(family: 4 | 6): string {
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.internal || entry.family !== (family === 4 ? 'IPv4' : 'IPv6')) continue;
      if (family === 6 && entry.address.startsWith('fe80')) continue;
      return entry.address;
    }
  }
  return family === 4 ? '127.0.0.1' : '::1';
}

/** Resolves relay options into one relay address per family (the first configured wins). */
export function resolveRelayAddresses(relays: readonly RelayAddressOptions[]): RelayAddress[] {
  const out: RelayAddress[] = [];
  for (const relay of relays) {
    const family: 4 | 6 = relay.relayIp.includes(':') ? 6 : 4;
    if (out.some((a) => a.family === family)) continue;
    const concrete = WILDCARDS.has(relay.relayIp) ? interfaceAddress(family) : relay.relayIp;
    out.push({ family, bindIp: relay.relayIp, advertisedIp: relay.externalIp ?? concrete });
  }
  return out;
}
