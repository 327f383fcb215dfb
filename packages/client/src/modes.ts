/**
 * Cloud proxy modes and their numeric aliases (the numbers commercial calling SDKs use).
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';

/**
 * The cloud proxy modes:
 * - `auto`: direct first (host/STUN candidates), relay over TLS if that does not connect;
 * - `force-udp`: relay only, TURN over UDP;
 * - `force-tcp`: relay only, TURN over TLS (TCP).
 */
export const ProxyMode = {
  Auto: 'auto',
  ForceUdp: 'force-udp',
  ForceTcp: 'force-tcp',
} as const;

/** A cloud proxy mode name. */
export type ProxyMode = (typeof ProxyMode)[keyof typeof ProxyMode];

/** What `startProxyServer` accepts: a mode name or a numeric alias. */
export type ProxyModeInput = ProxyMode | 0 | 1 | 2 | 3 | 5;

/**
 * Numeric aliases: web SDKs use 3 (UDP) and 5 (TCP/TLS); native SDKs use 0 (auto), 1 (UDP)
 * and 2 (TCP/TLS).
 */
export const MODE_ALIASES: Readonly<Record<number, ProxyMode>> = {
  0: 'auto',
  1: 'force-udp',
  2: 'force-tcp',
  3: 'force-udp',
  5: 'force-tcp',
};

const NAMES: readonly string[] = Object.values(ProxyMode);

/**
 * Resolves a mode name or numeric alias; throws `INVALID_MODE` naming `field` otherwise.
 *
 * @example
 * resolveMode(3); // 'force-udp'
 * resolveMode('force-tcp'); // 'force-tcp'
 */
export function resolveMode(value: unknown, field = 'mode'): ProxyMode {
  if (typeof value === 'string' && NAMES.includes(value)) return value as ProxyMode;
  if (typeof value === 'number') {
    const mode = MODE_ALIASES[value];
    if (mode !== undefined) return mode;
  }
  const shown = typeof value === 'string' ? `'${value}'` : String(value);
  throw new CloudProxyError(
    ClientErrorCode.InvalidMode,
    `${field}: ${shown} is not a proxy mode (auto, force-udp, force-tcp, or 0, 1, 2, 3, 5)`,
    { field },
  );
}
