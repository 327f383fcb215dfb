/**
 * Placement: which registered relay node a credential names, and where a full or draining node
 * sends an Allocate (ALTERNATE-SERVER). Pure functions over the registry's node list.
 *
 * A node is a candidate when it runs a relay (role `all` or `relay`), is not draining and has
 * spare capacity (`load < capacity`, capacity 0 meaning unbounded). Regions are tried in order:
 * the requested one, then the configured `regionOrder`, then every other region by name. Within
 * a region the node with the most spare capacity (lowest load/capacity) wins; ties go to the
 * lower load, then at random, so idle nodes share new calls.
 * @module
 */
import type { RelayTransport } from '../relay-node.js';

/** A node as it describes itself in the registry. */
export interface ClusterNodeInfo {
  readonly nodeId: string;
  readonly role: 'all' | 'relay' | 'api';
  readonly region: string;
  /** Host name or address put in `turn:`/`turns:` URLs. */
  readonly publicHost: string;
  /** Public relay addresses (the allowlist table). */
  readonly relayAddresses: readonly string[];
  readonly domains: readonly string[];
  readonly ports: {
    readonly udp: number;
    readonly tcp: number;
    /** The TLS port credentials name (the shared HTTPS port in `cloudproxy start`). */
    readonly tls: number;
    readonly https: number;
  };
  readonly relayPortRange: { readonly min: number; readonly max: number };
  /** Most allocations this node takes (0: no bound). */
  readonly capacity: number;
  /** Live allocations at the last heartbeat. */
  readonly load: number;
  readonly draining: boolean;
  readonly updatedAtMs: number;
}

/** Whether the node can take a new allocation. */
export function isAvailable(node: ClusterNodeInfo): boolean {
  return (
    node.role !== 'api' && !node.draining && (node.capacity === 0 || node.load < node.capacity)
  );
}

function usage(node: ClusterNodeInfo): number {
  return node.capacity === 0 ? 0 : node.load / node.capacity;
}

/** The regions to try for `region`, nearest first. */
export function regionsInOrder(
  region: string,
  order: readonly string[],
  known: Iterable<string>,
): string[] {
  const out = [region, ...order.filter((r) => r !== region)];
  const rest = [...new Set(known)].filter((r) => !out.includes(r)).sort();
  return [...out, ...rest];
}

/** The best of `nodes` (most spare capacity), or undefined when empty. */
function best(
  nodes: readonly ClusterNodeInfo[],
  random: () => number,
): ClusterNodeInfo | undefined {
  let chosen: ClusterNodeInfo | undefined;
  let ties = 0;
  for (const node of nodes) {
    const diff = chosen ? usage(node) - usage(chosen) || node.load - chosen.load : -1;
    if (diff < 0) {
      chosen = node;
      ties = 1;
    } else if (diff === 0 && random() * ++ties < 1) {
      chosen = node;
    }
  }
  return chosen;
}

/** The node a credential for `region` names, or undefined when no node is available. */
export function placeNode(
  nodes: readonly ClusterNodeInfo[],
  region: string,
  regionOrder: readonly string[],
  random: () => number = Math.random,
): ClusterNodeInfo | undefined {
  const available = nodes.filter(isAvailable);
  for (const r of regionsInOrder(
    region,
    regionOrder,
    available.map((n) => n.region),
  )) {
    const chosen = best(
      available.filter((n) => n.region === r),
      random,
    );
    if (chosen) return chosen;
  }
  return undefined;
}

function isIpv4(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text);
}

/** The node's address of a family for ALTERNATE-SERVER: its public host if literal, else a relay address. */
export function addressOf(node: ClusterNodeInfo, family: 4 | 6): string | undefined {
  const fits = (a: string): boolean => (family === 4 ? isIpv4(a) : a.includes(':'));
  return [node.publicHost, ...node.relayAddresses].find(fits);
}

/** The port of a node for a client transport. */
export function portOf(node: ClusterNodeInfo, transport: RelayTransport): number {
  switch (transport) {
    case 'udp':
      return node.ports.udp;
    case 'tcp':
      return node.ports.tcp;
    case 'tls':
      return node.ports.tls;
  }
}

/**
 * Where to send an Allocate that `self` will not take: the best other available node, nearest
 * region first, with an address of the client's family; undefined when there is none.
 */
export function alternateFor(
  nodes: readonly ClusterNodeInfo[],
  self: { nodeId: string; region: string },
  regionOrder: readonly string[],
  client: { transport: RelayTransport; family: 4 | 6 },
): { family: 4 | 6; address: string; port: number } | undefined {
  const others = nodes.filter(
    (n) => n.nodeId !== self.nodeId && addressOf(n, client.family) !== undefined,
  );
  const node = placeNode(others, self.region, regionOrder);
  const address = node && addressOf(node, client.family);
  if (!node || address === undefined) return undefined;
  return { family: client.family, address, port: portOf(node, client.transport) };
}
