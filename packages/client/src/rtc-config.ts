/**
 * The `RTCConfiguration` for a mode: which ICE server URLs are kept and which transport policy
 * applies.
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';
import { toRtcIceServers, type ValidatedIceServer } from './ice-servers.js';
import { formatIceUrl } from './ice-url.js';
import type { ParsedIceUrl } from './ice-url.js';
import type { ProxyMode } from './modes.js';

/**
 * The phase of a connection attempt: `direct` is the first attempt of `auto` (and the only one
 * of the other modes), `relay` the fallback of `auto` (relay only, over TLS).
 */
export type ConnectionPhase = 'direct' | 'relay';

const isTurn = (url: ParsedIceUrl): boolean => url.scheme !== 'stun';
const isTurnUdp = (url: ParsedIceUrl): boolean => isTurn(url) && url.transport === 'udp';
const isTurnTls = (url: ParsedIceUrl): boolean => isTurn(url) && url.transport === 'tls';
const isTurnTcp = (url: ParsedIceUrl): boolean => isTurn(url) && url.transport === 'tcp';

function hasAny(
  servers: readonly ValidatedIceServer[],
  keep: (u: ParsedIceUrl) => boolean,
): boolean {
  return servers.some((server) => server.urls.some(keep));
}

/** The first filter that keeps at least one URL: TLS, else TCP, else any TURN URL. */
function streamFilter(servers: readonly ValidatedIceServer[]): (u: ParsedIceUrl) => boolean {
  if (hasAny(servers, isTurnTls)) return isTurnTls;
  if (hasAny(servers, isTurnTcp)) return isTurnTcp;
  return isTurn;
}

function plan(
  servers: readonly ValidatedIceServer[],
  mode: ProxyMode | undefined,
): { keep: (u: ParsedIceUrl) => boolean; policy: RTCIceTransportPolicy; wanted: string } {
  if (mode === undefined) {
    // A fixed TURN configuration: relay only through exactly the servers given.
    return { keep: () => true, policy: hasAny(servers, isTurn) ? 'relay' : 'all', wanted: 'any' };
  }
  switch (mode) {
    case 'force-udp':
      return { keep: isTurnUdp, policy: 'relay', wanted: 'a turn: URL over udp' };
    case 'force-tcp':
      return { keep: streamFilter(servers), policy: 'relay', wanted: 'a turns: or tcp TURN URL' };
    case 'auto':
      // The direct phase is handled by directConfiguration (no relays at all).
      return { keep: streamFilter(servers), policy: 'relay', wanted: 'a TURN URL' };
  }
}

/**
 * Builds the `RTCConfiguration` for `mode` and `phase` from validated servers:
 * - no mode (a fixed TURN configuration): every server, `iceTransportPolicy: 'relay'` when any
 *   TURN URL is present;
 * - `force-udp`: only `turn:` URLs over UDP, relay only;
 * - `force-tcp`: only TLS URLs (`turns:`), else TCP ones, relay only;
 * - `auto`, phase `direct`: no relay at all: the `stun:` URLs, plus a `stun:` URL for every
 *   `turn:` URL over UDP (a TURN server answers Binding requests), policy `all`, so the
 *   connection is direct (host or server-reflexive candidates) or fails; phase `relay`: as
 *   `force-tcp`.
 * Throws `NO_SERVER_FOR_MODE` when nothing is left. `extra` is merged first (its
 * `iceServers`/`iceTransportPolicy` are overridden).
 */
export function buildRtcConfiguration(
  servers: readonly ValidatedIceServer[],
  mode: ProxyMode | undefined,
  phase: ConnectionPhase = 'direct',
  extra: RTCConfiguration = {},
): RTCConfiguration {
  if (mode === 'auto' && phase === 'direct') return directConfiguration(servers, extra);
  const { keep, policy, wanted } = plan(servers, mode);
  const iceServers = toRtcIceServers(servers, keep);
  if (iceServers.length === 0) {
    throw new CloudProxyError(
      ClientErrorCode.NoServerForMode,
      `iceServers: mode ${mode ?? 'none'} (${phase}) needs ${wanted}, none given`,
      { field: 'iceServers' },
    );
  }
  return { ...extra, iceServers, iceTransportPolicy: policy };
}

/** The direct phase of `auto`: STUN only (given or derived from UDP TURN URLs), policy `all`. */
function directConfiguration(
  servers: readonly ValidatedIceServer[],
  extra: RTCConfiguration,
): RTCConfiguration {
  const urls = new Set<string>();
  for (const server of servers) {
    for (const url of server.urls) {
      if (url.scheme === 'stun' || isTurnUdp(url)) {
        urls.add(formatIceUrl({ ...url, scheme: 'stun', transport: 'udp', transportGiven: false }));
      }
    }
  }
  const iceServers: RTCIceServer[] = urls.size > 0 ? [{ urls: [...urls] }] : [];
  return { ...extra, iceServers, iceTransportPolicy: 'all' };
}
