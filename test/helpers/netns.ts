/**
 * Three "hosts" on one machine for firewall tests (root only): network namespaces joined by veth
 * pairs, with the server namespace routing between the two others.
 *
 * ```
 *   client ns (C)              server ns (S)                peer ns (P)
 *   10.213.1.2/24 ──veth── 10.213.1.1 │ 10.213.2.1 ──veth── 10.213.2.2/24
 *   default via 10.213.1.1      ip_forward=1, nftables       default via 10.213.2.1
 * ```
 *
 * `blockUdp()` adds an nftables table in S that drops every UDP packet from or to C (to S itself
 * and forwarded to P), counting what it drops; `unblock()` removes it. `redirectClientTcp()`
 * sends C's TCP for one port of S to another port (DNAT), where a test can put a slow middlebox. Names carry a per-run
 * suffix, so concurrent runs and leftovers of a killed run never collide. `cleanup()` deletes the
 * namespaces (their veths go with them); call it also on failure.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** The addresses of the topology (fixed: each run has its own namespaces). */
export const NETNS_ADDRESSES = {
  serverOnClientSide: '10.213.1.1',
  client: '10.213.1.2',
  serverOnPeerSide: '10.213.2.1',
  peer: '10.213.2.2',
  range: '10.213.0.0/16',
} as const;

const NFT_TABLE = 'cloudproxy_test';
const NAT_TABLE = 'cloudproxy_test_nat';

/** A built topology. */
export interface NetnsTopology {
  /** Namespace names: client, server, peer. */
  readonly client: string;
  readonly server: string;
  readonly peer: string;
  /** The server-side interface of the client's link (the one the firewall watches). */
  readonly serverClientLink: string;
  /** Drops UDP from and to the client namespace (idempotent). */
  blockUdp(): void;
  /** Removes the UDP block (idempotent). */
  unblock(): void;
  /** Packets the UDP block dropped so far (0 when no block is in place). */
  droppedUdpPackets(): number;
  /**
   * Sends the client host's TCP connections to `port` of the server to `toPort` instead (nftables
   * DNAT in S), e.g. to a slow forwarder in front of the real service; `clearRedirect()` undoes it.
   */
  redirectClientTcp(port: number, toPort: number): void;
  clearRedirect(): void;
  /** Runs a command inside a namespace; returns its stdout. */
  exec(ns: string, command: readonly string[], input?: string): string;
  /** Deletes the namespaces. Idempotent; processes inside must be stopped first. */
  cleanup(): void;
}

function run(command: readonly string[], input?: string): string {
  const [file, ...args] = command;
  return execFileSync(file!, args, {
    input,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Why this machine cannot build the topology, or undefined when it can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'network namespace tests need root (ip netns, veth, nftables); run them as root (CI does)';
  }
  for (const tool of ['ip', 'nft']) {
    try {
      run(['sh', '-c', `command -v ${tool}`]);
    } catch {
      return `'${tool}' is missing: run scripts/install-deps.sh (packages iproute2, nftables)`;
    }
  }
  return undefined;
}

/** Builds the three namespaces and their links. */
export function createNetnsTopology(): NetnsTopology {
  const id = randomBytes(3).toString('hex');
  const client = `cpc-${id}`;
  const server = `cps-${id}`;
  const peer = `cpp-${id}`;
  const links = { c: `vc${id}`, sc: `vsc${id}`, p: `vp${id}`, sp: `vsp${id}` };
  const created: string[] = [];
  const exec = (ns: string, command: readonly string[], input?: string): string =>
    run(['ip', 'netns', 'exec', ns, ...command], input);
  const cleanup = (): void => {
    for (const ns of created.splice(0).reverse()) {
      try {
        run(['ip', 'netns', 'del', ns]);
      } catch {
        // Already gone (deleting a namespace removes its veths and nftables tables too).
      }
    }
  };
  const A = NETNS_ADDRESSES;
  try {
    for (const ns of [client, server, peer]) {
      run(['ip', 'netns', 'add', ns]);
      created.push(ns);
      // IPv4 only: late IPv6 link-local addresses (after duplicate address detection) would
      // make Chromium see a network change and abort requests (ERR_NETWORK_CHANGED).
      exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
      exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    const wire = (near: string, nearNs: string, far: string, nearIp: string, farIp: string) => {
      run([
        'ip',
        'link',
        'add',
        near,
        'netns',
        nearNs,
        'type',
        'veth',
        'peer',
        'name',
        far,
        'netns',
        server,
      ]);
      exec(nearNs, ['ip', 'addr', 'add', `${nearIp}/24`, 'dev', near]);
      exec(server, ['ip', 'addr', 'add', `${farIp}/24`, 'dev', far]);
      exec(nearNs, ['ip', 'link', 'set', near, 'up']);
      exec(server, ['ip', 'link', 'set', far, 'up']);
      exec(nearNs, ['ip', 'route', 'add', 'default', 'via', farIp]);
    };
    wire(links.c, client, links.sc, A.client, A.serverOnClientSide);
    wire(links.p, peer, links.sp, A.peer, A.serverOnPeerSide);
    exec(server, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  } catch (err) {
    cleanup();
    throw err;
  }
  const hasTable = (): boolean => exec(server, ['nft', 'list', 'tables']).includes(NFT_TABLE);
  return {
    client,
    server,
    peer,
    serverClientLink: links.sc,
    blockUdp() {
      if (hasTable()) return;
      const link = links.sc;
      exec(
        server,
        ['nft', '-f', '-'],
        `table inet ${NFT_TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "${link}" meta l4proto udp counter drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "${link}" meta l4proto udp counter drop
    oifname "${link}" meta l4proto udp counter drop
  }
}
`,
      );
    },
    unblock() {
      if (hasTable()) exec(server, ['nft', 'delete', 'table', 'inet', NFT_TABLE]);
    },
    droppedUdpPackets() {
      if (!hasTable()) return 0;
      const text = exec(server, ['nft', 'list', 'table', 'inet', NFT_TABLE]);
      return [...text.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    },
    redirectClientTcp(port, toPort) {
      if (exec(server, ['nft', 'list', 'tables']).includes(NAT_TABLE)) return;
      exec(
        server,
        ['nft', '-f', '-'],
        `table ip ${NAT_TABLE} {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip saddr ${A.client} tcp dport ${port} dnat to ${A.serverOnClientSide}:${toPort}
  }
}
`,
      );
    },
    clearRedirect() {
      if (exec(server, ['nft', 'list', 'tables']).includes(NAT_TABLE))
        exec(server, ['nft', 'delete', 'table', 'ip', NAT_TABLE]);
    },
    exec,
    cleanup,
  };
}
