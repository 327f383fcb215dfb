/**
 * The `iceServers` of issued credentials, per mode: `force-udp` → `turn:HOST:UDP?transport=udp`
 * only; `force-tcp` → `turns:HOST:TLS?transport=tcp` only (`node.tlsPort`: in `cloudproxy start`
 * the shared HTTPS port, which also serves TURN over TLS); `auto` → both, UDP first.
 * @module
 */
import type { Mode } from '../model.js';

/** Where the relay is reached. */
export interface RelayEndpoint {
  readonly publicHost: string;
  readonly udpPort: number;
  readonly tlsPort: number;
}

/** Brackets an IPv6 literal for use in a URI. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The TURN URIs of a mode (RFC 7065). */
export function turnUris(endpoint: RelayEndpoint, mode: Mode): string[] {
  const host = hostPart(endpoint.publicHost);
  const udp = `turn:${host}:${endpoint.udpPort}?transport=udp`;
  const tls = `turns:${host}:${endpoint.tlsPort}?transport=tcp`;
  switch (mode) {
    case 'force-udp':
      return [udp];
    case 'force-tcp':
      return [tls];
    case 'auto':
      return [udp, tls];
  }
}

/** The `RTCConfiguration.iceTransportPolicy` of a mode: forced modes use the relay only. */
export function iceTransportPolicyOf(mode: Mode): 'all' | 'relay' {
  return mode === 'auto' ? 'all' : 'relay';
}
