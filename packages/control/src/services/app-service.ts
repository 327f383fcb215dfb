/**
 * AppService: apps, their API keys, TURN secrets and reservations. Every write goes to the store
 * first and then refreshes the in-memory cache the relay hooks read.
 * @module
 */
import { ApiProblem } from '../errors.js';
import { MODES } from '../model.js';
import type { App, AppSecret, Reservation } from '../model.js';
import type { AppCache } from '../enforcement/app-cache.js';
import type { AppPatch, AppsRepo, NewApp } from '../store/apps-repo.js';
import type { ApiKeyInfo, KeysRepo } from '../store/keys-repo.js';
import type { LimitsRepo } from '../store/limits-repo.js';
import type { RelayNode } from '../relay-node.js';
import { parseAppUsername } from '../credentials/rest.js';

/** Fields of `createApp`; only the name is required. */
export interface CreateAppInput {
  readonly name: string;
  readonly modes?: NewApp['modes'] | undefined;
  readonly regions?: NewApp['regions'] | undefined;
  readonly enabled?: boolean | undefined;
}

/** The repositories the services use. */
export interface Repos {
  readonly apps: AppsRepo;
  readonly keys: KeysRepo;
  readonly limits: LimitsRepo;
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e.code === '23505' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    (typeof e.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

/** AppService manages apps and what belongs to them. */
export class AppService {
  readonly #repos: Repos;
  readonly #cache: AppCache;
  readonly #clock: () => number;
  readonly #defaultRegion: string;
  readonly #relay: RelayNode | undefined;

  constructor(options: {
    repos: Repos;
    cache: AppCache;
    clock: () => number;
    region: string;
    relay?: RelayNode | undefined;
  }) {
    this.#relay = options.relay;
    this.#repos = options.repos;
    this.#cache = options.cache;
    this.#clock = options.clock;
    this.#defaultRegion = options.region;
  }

  /** Creates an app with its first TURN secret (all modes, this node's region by default). */
  async createApp(input: CreateAppInput): Promise<App> {
    try {
      const { app } = await this.#repos.apps.create(
        {
          name: input.name,
          modes: input.modes ?? MODES,
          regions: input.regions ?? [this.#defaultRegion],
          enabled: input.enabled ?? true,
        },
        this.#clock(),
      );
      await this.#cache.refresh(app.appId);
      return app;
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ApiProblem('conflict', `name: an app named '${input.name}' exists`, {
          cause: error,
        });
      throw error;
    }
  }

  /** Every app. */
  listApps(): Promise<App[]> {
    return this.#repos.apps.list();
  }

  /** An app, or 404. */
  async getApp(appId: string): Promise<App> {
    const app = await this.#repos.apps.get(appId);
    if (!app) throw new ApiProblem('not-found', `app ${appId} does not exist`);
    return app;
  }

  /** The app with this name, or undefined. */
  findAppByName(name: string): Promise<App | undefined> {
    return this.#repos.apps.findByName(name);
  }

  /** Updates an app (404 when absent, 409 on a name taken by another app). */
  async updateApp(appId: string, patch: AppPatch): Promise<App> {
    await this.getApp(appId);
    try {
      const app = await this.#repos.apps.update(appId, patch, this.#clock());
      await this.#cache.refresh(appId);
      if (!app) throw new ApiProblem('not-found', `app ${appId} does not exist`);
      // A disabled app relays nothing: its live allocations end now, not at their expiry.
      if (!app.enabled)
        this.#relay?.revokeAllocations((username) => parseAppUsername(username)?.appId === appId);
      return app;
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ApiProblem('conflict', `name: an app named '${patch.name ?? ''}' exists`, {
          cause: error,
        });
      throw error;
    }
  }

  /** Creates an API key for an app; the answer holds the key, which is never shown again. */
  async createApiKey(appId: string, label = ''): Promise<ApiKeyInfo & { readonly key: string }> {
    await this.getApp(appId);
    return this.#repos.keys.create(appId, label, this.#clock());
  }

  /** Keys of an app (never their values). */
  async listApiKeys(appId: string): Promise<ApiKeyInfo[]> {
    await this.getApp(appId);
    return this.#repos.keys.list(appId);
  }

  /** Deletes a key (404 when absent). */
  async deleteApiKey(appId: string, keyId: string): Promise<void> {
    if (!(await this.#repos.keys.delete(appId, keyId)))
      throw new ApiProblem('not-found', `key ${keyId} of app ${appId} does not exist`);
  }

  /** Rotates: adds a new secret that signs credentials from now on; older ones stay valid. */
  async rotateSecret(appId: string): Promise<AppSecret> {
    await this.getApp(appId);
    const secret = await this.#repos.apps.addSecret(appId, this.#clock());
    await this.#cache.refresh(appId);
    return secret;
  }

  /** Secrets of an app, newest first. */
  async listSecrets(appId: string): Promise<AppSecret[]> {
    await this.getApp(appId);
    return this.#repos.apps.listSecrets(appId);
  }

  /** Retires a secret; the last one cannot be retired (409). */
  async retireSecret(appId: string, secretId: string): Promise<void> {
    const secrets = await this.listSecrets(appId);
    if (!secrets.some((s) => s.secretId === secretId))
      throw new ApiProblem('not-found', `secret ${secretId} of app ${appId} does not exist`);
    if (secrets.length === 1)
      throw new ApiProblem('conflict', `secret ${secretId} is the app's last secret; rotate first`);
    await this.#repos.apps.deleteSecret(appId, secretId);
    await this.#cache.refresh(appId);
  }

  /** Creates or replaces a reservation. */
  async putReservation(r: Omit<Reservation, 'updatedAtMs'>): Promise<Reservation> {
    await this.getApp(r.appId);
    const reservation: Reservation = { ...r, updatedAtMs: this.#clock() };
    await this.#repos.limits.putReservation(reservation);
    await this.#cache.refresh(r.appId);
    return reservation;
  }

  /** Reservations of an app. */
  async listReservations(appId: string): Promise<Reservation[]> {
    await this.getApp(appId);
    return this.#repos.limits.listReservations(appId);
  }

  /** Deletes a reservation (404 when absent). */
  async deleteReservation(appId: string, region: string): Promise<void> {
    if (!(await this.#repos.limits.deleteReservation(appId, region)))
      throw new ApiProblem('not-found', `app ${appId} has no reservation in region ${region}`);
    await this.#cache.refresh(appId);
  }
}
