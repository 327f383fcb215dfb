/**
 * The IP allowlist table: per region, the public relay addresses and ports a customer's firewall
 * must allow, and the domain names used in automatic mode; as JSON, CSV or plain text.
 * @module
 */
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

/** The table of this node (one region until the scale-out step adds others). */
export function allowlist(node: ResolvedOptions['node'], region: string | undefined): Allowlist {
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
