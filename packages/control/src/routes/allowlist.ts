/**
 * The IP allowlist table: per region, the public relay addresses and ports a customer's firewall
 * must allow, and the domain names used in automatic mode; as JSON, CSV or plain text.
 * @module
 */
import type { ClusterNodeInfo } from '../cluster/placement.js';
import type { Reply } from '../http/route.js';
import type { ResolvedOptions } from '../options.js';
import { toCsv } from './json.js';

/** One port (or range) of a relay address. */
export interface AllowlistPort {
  readonly protocol: 'udp' | 'tcp' | 'tls';
  readonly port?: number;
  readonly portRange?: string;
}

/** The table, JSON-shaped. */
export interface Allowlist {
  readonly regions: {
    readonly region: string;
    readonly domains: readonly string[];
    readonly relays: { readonly address: string; readonly ports: AllowlistPort[] }[];
  }[];
}

/** The table: this node's, or in cluster mode every relay node of the registry by region. */
export function allowlist(
  node: ResolvedOptions['node'],
  region: string | undefined,
  clusterNodes?: readonly ClusterNodeInfo[],
): Allowlist {
  if (clusterNodes) return clusterAllowlist(clusterNodes, region);
  if (region !== undefined && region !== node.region) return { regions: [] };
  const ports: AllowlistPort[] = [
    { protocol: 'udp', port: node.udpPort },
    { protocol: 'tcp', port: node.tcpPort },
    { protocol: 'tls', port: node.tlsPort },
    { protocol: 'udp', portRange: `${node.relayPortRange.min}-${node.relayPortRange.max}` },
  ];
  return {
    regions: [
      {
        region: node.region,
        domains: node.domains,
        relays: node.relayAddresses.map((address) => ({ address, ports: [...ports] })),
      },
    ],
  };
}

function portsOf(n: ClusterNodeInfo): AllowlistPort[] {
  return [
    { protocol: 'udp', port: n.ports.udp },
    { protocol: 'tcp', port: n.ports.tcp },
    { protocol: 'tls', port: n.ports.tls },
    { protocol: 'udp', portRange: `${n.relayPortRange.min}-${n.relayPortRange.max}` },
  ];
}

/** The table built from the registry: relay nodes (draining ones too) grouped by region. */
function clusterAllowlist(
  nodes: readonly ClusterNodeInfo[],
  region: string | undefined,
): Allowlist {
  const byRegion = new Map<string, ClusterNodeInfo[]>();
  for (const n of nodes) {
    if (n.role === 'api' || (region !== undefined && n.region !== region)) continue;
    byRegion.set(n.region, [...(byRegion.get(n.region) ?? []), n]);
  }
  return {
    regions: [...byRegion.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, members]) => ({
        region: name,
        domains: [...new Set(members.flatMap((n) => n.domains))].sort(),
        relays: members
          .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
          .flatMap((n) => n.relayAddresses.map((address) => ({ address, ports: portsOf(n) }))),
      })),
  };
}

function rows(table: Allowlist): [string, string, string, string][] {
  const out: [string, string, string, string][] = [];
  for (const r of table.regions) {
    for (const relay of r.relays)
      for (const p of relay.ports)
        out.push([r.region, relay.address, p.protocol, p.portRange ?? String(p.port ?? '')]);
    for (const domain of r.domains) out.push([r.region, domain, 'domain', '']);
  }
  return out;
}

/** Renders the table in the requested format. */
export function renderAllowlist(table: Allowlist, format: 'json' | 'csv' | 'text'): Reply {
  switch (format) {
    case 'json':
      return { status: 200, json: table };
    case 'csv':
      return {
        status: 200,
        contentType: 'text/csv; charset=utf-8',
        text: toCsv(['region', 'address', 'protocol', 'ports'], rows(table)),
      };
    case 'text':
      return {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        text: rows(table)
          .map(([, address, protocol, ports]) => `${address} ${protocol} ${ports || '-'}`)
          .join('\n')
          .concat('\n'),
      };
  }
}
