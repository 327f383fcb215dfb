/**
 * The connect-time SSRF defence: every address the proxy dials is checked against the TURN peer
 * policy's special-purpose ranges (loopback, private, link-local, IPv4 embedded in IPv6, …) right
 * before the connection is opened, so DNS rebinding and names like `127.0.0.1.nip.io` fail.
 * @module
 */
import dns from 'node:dns';
import net from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { createPeerPolicy } from '@cloudproxy/turn';
import type { PeerPolicy } from '@cloudproxy/turn';
import { InvalidProxyOptionError, ProxyRefusal } from './errors.js';
import type { ResolvedAddress, UpstreamLookup } from './options.js';

/** The lookup callback of `net.connect`, in both of its forms (`all` or one address). */
type NetLookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for `net.connect`/`tls.connect` (undici's connector and ws pass it through). */
export type GuardedNetLookup = (
  hostname: string,
  options: LookupOptions,
  callback: NetLookupCallback,
) => void;

/** AddressGuard resolves upstream names and refuses special-purpose addresses. */
export interface AddressGuard {
  /** Refuses an IP literal in a special-purpose range (`ProxyRefusal('private-address')`). */
  checkLiteral(address: string, hostLabel: string): void;
  /** Resolves a name and checks every address; rejects with a `ProxyRefusal` if any is refused. */
  resolve(hostname: string): Promise<readonly ResolvedAddress[]>;
  /** The same as a `net.connect` `lookup` option: called when the socket is dialled. */
  readonly netLookup: GuardedNetLookup;
}

/** The default resolver: the system's (`dns.lookup`, all addresses). */
export const systemLookup: UpstreamLookup = async (hostname) => {
  const results = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

/**
 * Creates the guard. `allowPrivateUpstream` ranges (CIDR) are special-purpose ranges opened on
 * purpose, e.g. `10.0.0.0/8` for upstreams on a private network or `127.0.0.0/8` in tests.
 * A name is refused when any of its addresses is refused: a name that mixes public and private
 * addresses is not one an allowlisted vendor publishes.
 * @throws InvalidProxyOptionError for a malformed range.
 */
export function createAddressGuard(
  allowPrivateUpstream: readonly string[],
  lookup: UpstreamLookup,
): AddressGuard {
  const policy = buildPolicy(allowPrivateUpstream);
  const check = (address: string, hostLabel: string): void => {
    const decision = policy.check(address);
    if (!decision.allowed) {
      throw new ProxyRefusal(
        'private-address',
        `upstream ${hostLabel} resolves to ${address} (${decision.reason}), which is not allowed`,
      );
    }
  };
  const resolve = async (hostname: string): Promise<readonly ResolvedAddress[]> => {
    if (net.isIP(hostname) !== 0) {
      check(hostname, hostname);
      return [{ address: hostname, family: net.isIPv6(hostname) ? 6 : 4 }];
    }
    let addresses: readonly ResolvedAddress[];
    try {
      addresses = await lookup(hostname);
    } catch (error) {
      throw new ProxyRefusal('upstream-unreachable', `cannot resolve upstream ${hostname}`, {
        cause: error,
      });
    }
    if (addresses.length === 0) {
      throw new ProxyRefusal('upstream-unreachable', `upstream ${hostname} has no address`);
    }
    for (const entry of addresses) check(entry.address, hostname);
    return addresses;
  };
  const netLookup: GuardedNetLookup = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = addresses.filter((a) => family === 0 || a.family === family);
        if (options.all === true) {
          callback(
            null,
            usable.map((a) => ({ address: a.address, family: a.family })),
          );
          return;
        }
        const first = usable[0];
        if (first === undefined) {
          callback(familyError(hostname, family), '', 0);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => {
        callback(error as NodeJS.ErrnoException, '', 0);
      },
    );
  };
  return { checkLiteral: check, resolve, netLookup };
}

function buildPolicy(ranges: readonly string[]): PeerPolicy {
  try {
    return createPeerPolicy({ allowedPeerIps: ranges });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidProxyOptionError(
      'allowPrivateUpstream',
      reason.replace(/^allowedPeerIps/, 'range'),
    );
  }
}

function familyError(hostname: string, family: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `upstream ${hostname} has no IPv${family} address`,
  );
  error.code = 'ENOTFOUND';
  return error;
}
