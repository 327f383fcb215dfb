/**
 * The HTTPS port of `cloudproxy start`: which port (443 when the process may bind it and none
 * is configured, else 8443), which certificates (the node's pair plus SNI ones from the
 * configuration, re-read on SIGHUP), and the options of the one-port listener.
 * @module
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TransportAddress } from '@cloudproxy/stun';
import { createProxySources } from '@cloudproxy/turn/node';
import type { StartSettings } from '../config/start-config.js';
import type { HttpsListenOptions } from '../https-surface.js';
import type { NativePortTls, PortCertificates } from '../one-port-listener.js';

/** The well-known HTTPS port, used when no port is configured and the process may bind it. */
const PRIVILEGED_HTTPS_PORT = 443;

/** Whether `host:port` can be bound now (root or CAP_NET_BIND_SERVICE for ports below 1024). */
function canBind(host: string, port: number): Promise<{ ok: boolean; reason: string }> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: error.code ?? error.message });
    });
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close(() => {
        resolve({ ok: true, reason: 'bindable' });
      });
    });
  });
}

/** The chosen HTTPS port and why, for the log. */
export interface HttpsPortChoice {
  readonly port: number;
  readonly why: string;
}

/**
 * The HTTPS port: the configured one; else 443 if it can be bound here; else 8443 (443 needs
 * root or CAP_NET_BIND_SERVICE, and may be taken).
 */
export async function chooseHttpsPort(
  settings: StartSettings,
  host: string,
): Promise<HttpsPortChoice> {
  if (settings.httpsPortGiven) return { port: settings.httpsPort, why: 'configured' };
  const probe = await canBind(host, PRIVILEGED_HTTPS_PORT);
  return probe.ok
    ? { port: PRIVILEGED_HTTPS_PORT, why: 'no port configured and 443 can be bound' }
    : {
        port: settings.httpsPort,
        why: `no port configured and 443 cannot be bound (${probe.reason}): needs root or CAP_NET_BIND_SERVICE and a free port`,
      };
}

/**
 * The TLS port credentials name (`turns:host:PORT?transport=tcp`): the HTTPS port when TURN is
 * shared on it, the one port strict networks let through; else the dedicated TURN TLS port.
 */
export function credentialTlsPort(settings: StartSettings, httpsPort: number): number {
  return settings.sharedTurn && httpsPort !== 0 ? httpsPort : settings.turnTlsPort;
}

/** The TURN ports line of the start banner. */
export function turnPortsText(settings: StartSettings, httpsPort: number): string {
  const shared = settings.sharedTurn ? ` and ${httpsPort} (shared with HTTPS)` : '';
  return `udp+tcp ${settings.turnPort}, tls ${settings.turnTlsPort}${shared}`;
}

/** Reads the node's certificate pair and every SNI pair of the configuration (start and SIGHUP). */
export function readCertificates(
  settings: StartSettings,
  pair: { certFile: string; keyFile: string },
): PortCertificates {
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`${what}: cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    cert: read(pair.certFile, 'certificate'),
    key: read(pair.keyFile, 'private key'),
    sni: settings.sni.map((entry, i) => ({
      host: entry.host,
      cert: read(entry.cert, `tls.sni[${i}].cert`),
      key: read(entry.pkey, `tls.sni[${i}].pkey`),
      role: entry.role,
    })),
  };
}

/** The listener options of the HTTPS surface in `start`: TURN shared unless turned off. */
export function httpsListenOptions(
  settings: StartSettings,
  where: { host: string; port: number; certificates: PortCertificates },
  turn: (socket: TLSSocket, remote: TransportAddress | undefined) => void,
  native?: NativePortTls,
): HttpsListenOptions {
  return {
    ...where,
    turn: settings.sharedTurn ? turn : undefined,
    native: settings.sharedTurn ? native : undefined,
    proxySources: createProxySources(settings.proxyProtocolFrom, '--proxy-protocol-from'),
  };
}
