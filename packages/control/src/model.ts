/**
 * The control plane's domain values: apps, modes, reservations, revocations and usage rows, as
 * the API and the enforcement code see them (the store maps its rows to these).
 * @module
 */

/** How a client reaches the relay: both transports, UDP only or TLS-over-TCP only. */
export const MODES = ['auto', 'force-udp', 'force-tcp'] as const;
/** A proxy mode. */
export type Mode = (typeof MODES)[number];

/** Video quality of a reservation → bandwidth estimate per user in kbit/s. */
export const VIDEO_QUALITY_KBPS = {
  audio: 64,
  '360p': 800,
  '480p': 1200,
  '720p': 2500,
  '1080p': 4500,
} as const;
/** A video quality. */
export type VideoQuality = keyof typeof VIDEO_QUALITY_KBPS;

/**
 * The per-allocation bandwidth cap of a quality in bytes per second: twice the per-user
 * estimate (an allocation carries one user's media both ways plus retransmissions).
 */
export function maxBpsOf(quality: VideoQuality): number {
  return (VIDEO_QUALITY_KBPS[quality] * 1000 * 2) / 8;
}

/** An app: a customer application with its own TURN secrets, keys and reservations. */
export interface App {
  readonly appId: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly modes: readonly Mode[];
  readonly regions: readonly string[];
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** A TURN REST secret of an app. */
export interface AppSecret {
  readonly secretId: string;
  readonly appId: string;
  readonly secret: string;
  readonly createdAtMs: number;
}

/** Capacity reserved by an app in a region. */
export interface Reservation {
  readonly appId: string;
  readonly region: string;
  readonly maxChannels: number;
  readonly maxUsersPerChannel: number;
  readonly maxProxyUsersPerChannel: number;
  readonly videoQuality: VideoQuality;
  readonly mode: Mode;
  readonly updatedAtMs: number;
}

/** A ban of a channel (`uid` undefined) or of one uid in it, until `untilMs`. */
export interface Revocation {
  readonly appId: string;
  readonly channel: string;
  readonly uid: string | undefined;
  readonly untilMs: number;
  readonly createdAtMs: number;
}

/** Client transports, as the relay reports them. */
export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
/** A client transport. */
export type Transport = (typeof TRANSPORTS)[number];

/** Per-transport byte counts. */
export type BytesByTransport = Record<Transport, number>;

/** Usage of one app, channel and UTC day. */
export interface UsageRow {
  readonly appId: string;
  readonly channel: string;
  readonly day: string;
  readonly allocations: number;
  readonly relayMs: number;
  /** Client to relay. */
  readonly bytesIn: BytesByTransport;
  /** Relay to client. */
  readonly bytesOut: BytesByTransport;
  readonly peakProxyUsers: number;
}

/** `YYYY-MM-DD` of a Unix time in milliseconds, in UTC. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
