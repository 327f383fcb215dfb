/**
 * The error class and the error-code catalog of the client SDK.
 * @module
 */

/**
 * Every code a {@link CloudProxyError} can carry. Stable strings: match on them, never on the
 * message. `as const` object plus a derived union type.
 */
export const ClientErrorCode = {
  /** An option has the wrong shape or an out-of-range value. */
  InvalidOption: 'INVALID_OPTION',
  /** An ICE server URL does not parse as a STUN/TURN URI (RFC 7064, RFC 7065). */
  InvalidIceServerUrl: 'INVALID_ICE_SERVER_URL',
  /** A `?transport=` value other than `udp`, `tcp` or `tls`. */
  InvalidTransport: 'INVALID_TRANSPORT',
  /** A `turn:`/`turns:` server without a username or credential. */
  MissingCredential: 'MISSING_CREDENTIAL',
  /** The signaling proxy URL is not an absolute https URL (http only for localhost). */
  InvalidProxyUrl: 'INVALID_PROXY_URL',
  /** A proxy mode that is neither a name nor a known numeric alias. */
  InvalidMode: 'INVALID_MODE',
  /** `startProxyServer`/`stopProxyServer` called while a peer connection is live. */
  AlreadyConnected: 'ALREADY_CONNECTED',
  /** The mobile validation profile refused the TURN configuration. */
  MediaProxyInvalid: 'MEDIA_PROXY_INVALID',
  /** Credentials could not be obtained or the answer was unusable. */
  CredentialsFailed: 'CREDENTIALS_FAILED',
  /** The credentials hold no ICE server URL usable in the selected mode. */
  NoServerForMode: 'NO_SERVER_FOR_MODE',
  /** `auto` gave up: the relay attempt did not connect either. */
  ConnectionFailed: 'CONNECTION_FAILED',
  /** Applying a new configuration to a peer connection failed. */
  ConfigurationFailed: 'CONFIGURATION_FAILED',
  /** No implementation of a platform API (fetch, WebSocket, RTCPeerConnection) is available. */
  Unsupported: 'UNSUPPORTED',
  /** The client was used after `close()`. */
  Closed: 'CLOSED',
} as const;

/** A stable error code of the client SDK. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Options of the {@link CloudProxyError} constructor. */
export interface CloudProxyErrorOptions {
  /** The option path at fault, e.g. `networkConfiguration.turn.iceServers[0].urls[1]`. */
  readonly field?: string;
  /** The underlying error (ES2022 `cause`). */
  readonly cause?: unknown;
}

/**
 * CloudProxyError is every error the SDK throws or reports. `code` is stable; `field` names the
 * option at fault when there is one, and the message names it too.
 *
 * @example
 * try {
 *   createClient({ networkConfiguration: { turn: { iceServers: [{ urls: 'turn:x' }] } } });
 * } catch (err) {
 *   if (err instanceof CloudProxyError && err.code === 'MISSING_CREDENTIAL') showHelp(err.field);
 * }
 */
export class CloudProxyError extends Error {
  /** Stable error code. */
  readonly code: ClientErrorCode;
  /** The option path at fault, if any. */
  readonly field: string | undefined;

  constructor(code: ClientErrorCode, message: string, options: CloudProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloudProxyError';
    this.code = code;
    this.field = options.field;
  }
}

/** Whether `value` is a {@link CloudProxyError} (by brand, so it also works across bundles). */
export function isCloudProxyError(value: unknown): value is CloudProxyError {
  return value instanceof Error && value.name === 'CloudProxyError' && 'code' in value;
}

/** One entry of the error catalog. */
export interface ClientErrorCodeEntry {
  readonly code: ClientErrorCode;
  readonly description: string;
}

/** Every error code of the SDK with a one-line description (for docs and support pages). */
export const CLIENT_ERROR_CODES: readonly ClientErrorCodeEntry[] = [
  {
    code: 'INVALID_OPTION',
    description:
      'An option has the wrong type or an out-of-range value (e.g. an empty iceServers list, a negative timeout). `field` names it.',
  },
  {
    code: 'INVALID_ICE_SERVER_URL',
    description:
      'An ICE server URL is not a valid `stun:`, `turn:` or `turns:` URI (RFC 7064, RFC 7065): bad scheme, host, port or query.',
  },
  {
    code: 'INVALID_TRANSPORT',
    description: 'A `?transport=` value other than `udp`, `tcp` or `tls`.',
  },
  {
    code: 'MISSING_CREDENTIAL',
    description: 'A `turn:`/`turns:` ICE server has no `username` or no `credential`.',
  },
  {
    code: 'INVALID_PROXY_URL',
    description:
      'The signaling proxy URL is not an absolute https URL (http is accepted for localhost only), or a proxied host pattern is malformed.',
  },
  {
    code: 'INVALID_MODE',
    description:
      'A proxy mode other than `auto`, `force-udp`, `force-tcp` or a numeric alias (web 3, 5; native 0, 1, 2).',
  },
  {
    code: 'ALREADY_CONNECTED',
    description:
      '`startProxyServer`/`stopProxyServer` was called while a peer connection of the client is live; call it before connecting.',
  },
  {
    code: 'MEDIA_PROXY_INVALID',
    description:
      'The mobile profile refused the TURN configuration; the message starts with `Failed to set media proxy: ` and gives the reason.',
  },
  {
    code: 'CREDENTIALS_FAILED',
    description:
      'Credentials could not be fetched from the control plane or the callback, or the answer was malformed.',
  },
  {
    code: 'NO_SERVER_FOR_MODE',
    description:
      'The ICE servers hold no URL usable in the selected mode (e.g. no UDP TURN URL for force-udp).',
  },
  {
    code: 'CONNECTION_FAILED',
    description:
      '`auto` gave up on a connection (the relay attempt after the fallback did not connect within `autoFallback.relayTimeoutMs`, or failed after connecting; there is no second fallback), or reconnection of a relayed connection gave up after its last attempt (`reconnect.retryDelaysMs`). Reported through the `error` event.',
  },
  {
    code: 'CONFIGURATION_FAILED',
    description:
      '`setConfiguration` or `restartIce` threw while applying refreshed credentials or the relay configuration. Reported through the `error` event.',
  },
  {
    code: 'UNSUPPORTED',
    description:
      'A platform API is missing (fetch, WebSocket or RTCPeerConnection); inject one through the options.',
  },
  {
    code: 'CLOSED',
    description: 'The client was used after `close()`.',
  },
];
