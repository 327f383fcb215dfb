/**
 * AccessService: what an app's backend (API key) or a browser (client token) asks for:
 * short-lived TURN credentials in WebRTC and TURN REST shapes, client tokens, and revocations
 * that end live allocations.
 * @module
 */
import { signClientToken } from '../credentials/client-token.js';
import { iceTransportPolicyOf, turnUris } from '../credentials/ice-servers.js';
import type { RelayEndpoint } from '../credentials/ice-servers.js';
import { appUsername, parseAppUsername, restPassword } from '../credentials/rest.js';
import type { AppCache, CachedApp } from '../enforcement/app-cache.js';
import type { IssuedUsersLedger } from '../enforcement/issued-users.js';
import { ApiProblem } from '../errors.js';
import type { ControlMetrics } from '../metrics.js';
import type { Mode, Revocation } from '../model.js';
import type { RelayNode } from '../relay-node.js';
import type { LimitsRepo } from '../store/limits-repo.js';

/** Default and largest credential lifetime in seconds. */
export const CREDENTIAL_TTL_S = { default: 3600, max: 86_400 } as const;
/** Default and largest client token lifetime in seconds. */
export const CLIENT_TOKEN_TTL_S = { default: 600, max: 3600 } as const;
/** Default revocation length: the longest credential lifetime, so none issued before survives. */
export const REVOCATION_DEFAULT_S = 86_400;

/** A credentials request. */
export interface CredentialsRequest {
  readonly channel: string;
  readonly uid: string;
  readonly ttl?: number | undefined;
  readonly mode?: Mode | undefined;
  /** Cluster mode: the region whose relays to name (default: this node's). */
  readonly region?: string | undefined;
}

/** Issued credentials, WebRTC-shaped. */
export interface IssuedCredentials {
  readonly iceServers: { urls: string[]; username: string; credential: string }[];
  readonly iceTransportPolicy: 'all' | 'relay';
  readonly mode: Mode;
  readonly ttl: number;
  readonly expiresAt: string;
}

/** The draft-uberti TURN REST answer. */
export interface TurnRestCredentials {
  readonly username: string;
  readonly password: string;
  readonly ttl: number;
  readonly uris: string[];
}

/** AccessService issues credentials and client tokens and handles revocations. */
export class AccessService {
  readonly #cache: AppCache;
  readonly #issued: IssuedUsersLedger;
  readonly #limits: LimitsRepo;
  readonly #relay: RelayNode | undefined;
  readonly #endpoint: RelayEndpoint;
  readonly #region: string;
  readonly #clientTokenKey: Buffer;
  readonly #clock: () => number;
  readonly #metrics: ControlMetrics;
  readonly #placement: ((region: string) => RelayEndpoint | undefined) | undefined;
  readonly #onRevoked:
    ((appId: string, channel: string, uid: string | undefined) => void) | undefined;

  constructor(options: {
    cache: AppCache;
    issued: IssuedUsersLedger;
    limits: LimitsRepo;
    relay: RelayNode | undefined;
    endpoint: RelayEndpoint;
    region: string;
    clientTokenKey: Buffer;
    clock: () => number;
    metrics: ControlMetrics;
    /** Cluster mode: the relay node credentials for a region name (undefined: none available). */
    placement?: ((region: string) => RelayEndpoint | undefined) | undefined;
    /** Cluster mode: tells the other nodes about a revocation. */
    onRevoked?: ((appId: string, channel: string, uid: string | undefined) => void) | undefined;
  }) {
    this.#placement = options.placement;
    this.#onRevoked = options.onRevoked;
    this.#cache = options.cache;
    this.#issued = options.issued;
    this.#limits = options.limits;
    this.#relay = options.relay;
    this.#endpoint = options.endpoint;
    this.#region = options.region;
    this.#clientTokenKey = options.clientTokenKey;
    this.#clock = options.clock;
    this.#metrics = options.metrics;
  }

  #enabledApp(appId: string): CachedApp {
    const cached = this.#cache.get(appId);
    if (!cached) throw new ApiProblem('not-found', `app ${appId} does not exist`);
    if (!cached.app.enabled) throw new ApiProblem('app-disabled', `app ${appId} is disabled`);
    return cached;
  }

  #checkMode(cached: CachedApp, requested: Mode | undefined): Mode {
    const reservation = cached.reservations.get(this.#region);
    const fallback = cached.app.modes.includes('auto') ? 'auto' : (cached.app.modes[0] ?? 'auto');
    const mode = requested ?? reservation?.mode ?? fallback;
    if (!cached.app.modes.includes(mode))
      throw new ApiProblem(
        'mode-not-enabled',
        `mode: ${mode} is not enabled for app ${cached.app.appId} (enabled: ${cached.app.modes.join(', ')})`,
      );
    if (reservation && reservation.mode !== 'auto' && reservation.mode !== mode)
      throw new ApiProblem(
        'mode-not-enabled',
        `mode: the reservation of app ${cached.app.appId} in region ${this.#region} is for ${reservation.mode}, not ${mode}`,
      );
    return mode;
  }

  #checkRevoked(cached: CachedApp, channel: string, uid: string, nowMs: number): void {
    const revoked = this.#cache.revocationFor(cached.app.appId, channel, uid, nowMs);
    if (revoked)
      throw new ApiProblem(
        'revoked',
        `${revoked.uid === undefined ? `channel ${channel}` : `uid ${uid} in channel ${channel}`} is revoked until ${new Date(revoked.untilMs).toISOString()}`,
      );
  }

  /** Counts `uid` as a holder of the channel's credentials, within `maxUsersPerChannel`. */
  async #claimUser(cached: CachedApp, req: CredentialsRequest, expiresAtS: number, nowMs: number) {
    const max = cached.reservations.get(this.#region)?.maxUsersPerChannel;
    const { appId } = cached.app;
    if (!(await this.#issued.claim(appId, req.channel, req.uid, max, expiresAtS * 1000, nowMs)))
      throw new ApiProblem(
        'quota-exceeded',
        `channel ${req.channel} already has ${String(max)} users with credentials (maxUsersPerChannel)`,
      );
  }

  #sign(cached: CachedApp, req: CredentialsRequest, ttl: number, expiresAtS: number) {
    const username = appUsername({
      expiresAtS,
      appId: cached.app.appId,
      channel: req.channel,
      uid: req.uid,
    });
    const secret = cached.secrets[0];
    if (secret === undefined) throw new Error(`app ${cached.app.appId} has no TURN secret`);
    return { ttl, expiresAtS, username, password: restPassword(secret, username) };
  }

  /** Issues WebRTC-shaped credentials (403/404 problems when refused). */
  async issueCredentials(appId: string, req: CredentialsRequest): Promise<IssuedCredentials> {
    const nowMs = this.#clock();
    const cached = this.#enabledApp(appId);
    const mode = this.#checkMode(cached, req.mode);
    this.#checkRevoked(cached, req.channel, req.uid, nowMs);
    const endpoint = this.#endpointFor(req.region);
    const ttl = Math.min(req.ttl ?? CREDENTIAL_TTL_S.default, CREDENTIAL_TTL_S.max);
    const expiresAtS = Math.floor(nowMs / 1000) + ttl;
    await this.#claimUser(cached, req, expiresAtS, nowMs);
    const signed = this.#sign(cached, req, ttl, expiresAtS);
    this.#metrics.credentialsIssued.inc({ mode });
    return {
      iceServers: [
        {
          urls: turnUris(endpoint, mode),
          username: signed.username,
          credential: signed.password,
        },
      ],
      iceTransportPolicy: iceTransportPolicyOf(mode),
      mode,
      ttl: signed.ttl,
      expiresAt: new Date(signed.expiresAtS * 1000).toISOString(),
    };
  }

  /** The relay credentials name: placed from the registry in cluster mode, else this node. */
  #endpointFor(region: string | undefined): RelayEndpoint {
    if (!this.#placement) return this.#endpoint;
    const wanted = region ?? this.#region;
    const placed = this.#placement(wanted);
    if (!placed)
      throw new ApiProblem('unavailable', `no relay node is available for region ${wanted}`);
    return placed;
  }

  /** Issues credentials in the draft-uberti TURN REST shape. */
  async turnRestCredentials(appId: string, req: CredentialsRequest): Promise<TurnRestCredentials> {
    const issued = await this.issueCredentials(appId, req);
    const server = issued.iceServers[0];
    return {
      username: server?.username ?? '',
      password: server?.credential ?? '',
      ttl: issued.ttl,
      uris: server?.urls ?? [],
    };
  }

  /** Issues a client token for one channel and uid. */
  issueClientToken(
    appId: string,
    req: { channel: string; uid: string; ttl?: number | undefined },
  ): { token: string; expiresAt: string } {
    this.#enabledApp(appId);
    const ttl = Math.min(req.ttl ?? CLIENT_TOKEN_TTL_S.default, CLIENT_TOKEN_TTL_S.max);
    const expiresAtS = Math.floor(this.#clock() / 1000) + ttl;
    const token = signClientToken(this.#clientTokenKey, {
      appId,
      channel: req.channel,
      uid: req.uid,
      expiresAtS,
    });
    return { token, expiresAt: new Date(expiresAtS * 1000).toISOString() };
  }

  /**
   * Revokes a channel (or one uid in it) until now + `durationS`: stored, then live allocations
   * with matching credentials are ended at once.
   */
  async revoke(
    appId: string,
    req: { channel: string; uid?: string | undefined; durationS?: number | undefined },
  ): Promise<{ endedAllocations: number; until: string }> {
    if (!this.#cache.get(appId)) throw new ApiProblem('not-found', `app ${appId} does not exist`);
    const nowMs = this.#clock();
    const untilMs = nowMs + (req.durationS ?? REVOCATION_DEFAULT_S) * 1000;
    await this.#limits.putRevocation({
      appId,
      channel: req.channel,
      uid: req.uid,
      untilMs,
      createdAtMs: nowMs,
    });
    await this.#cache.refresh(appId);
    this.#issued.forget(appId, req.channel, req.uid);
    const endedAllocations =
      this.#relay?.revokeAllocations((username) => {
        const parsed = parseAppUsername(username);
        if (parsed?.appId !== appId || parsed.channel !== req.channel) return false;
        return req.uid === undefined || parsed.uid === req.uid;
      }) ?? 0;
    this.#onRevoked?.(appId, req.channel, req.uid);
    return { endedAllocations, until: new Date(untilMs).toISOString() };
  }

  /** Revocations of an app in force now. */
  listRevocations(appId: string): Promise<Revocation[]> {
    if (!this.#cache.get(appId)) throw new ApiProblem('not-found', `app ${appId} does not exist`);
    return this.#limits.listRevocations(this.#clock(), appId);
  }

  /** Lifts a revocation (404 when there is none in force). */
  async liftRevocation(appId: string, channel: string, uid: string | undefined): Promise<void> {
    const found = await this.#limits.deleteRevocation(appId, channel, uid, this.#clock());
    if (!found)
      throw new ApiProblem(
        'not-found',
        `no revocation of ${uid === undefined ? `channel ${channel}` : `uid ${uid} in channel ${channel}`}`,
      );
    await this.#cache.refresh(appId);
  }
}
