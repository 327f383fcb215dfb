/**
 * A `lookup` for UDP sockets that only ever send to IP literals: it answers synchronously,
 * so `socket.send()` skips the `dns.lookup` round trip (a `process.nextTick` and closures per
 * datagram) that Node's default lookup costs even for literal addresses.
 * @module
 */
import type { LookupOneOptions } from 'node:dns';

/** Resolves an IP literal to itself. Callers guarantee the address is a literal. */
export function literalLookup(
  hostname: string,
  _options: LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, hostname, hostname.includes(':') ? 6 : 4);
}
