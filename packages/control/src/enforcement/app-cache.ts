/**
 * AppCache: the in-memory copy of what the relay hooks need on their synchronous hot path:
 * apps, their secrets (newest first), reservations and revocations in force. Loaded from the
 * store at start and refreshed per app after every write through the API; in cluster mode other
 * nodes' writes arrive as change notices (`cluster/cluster-events.ts`) and a periodic full
 * reload is the backstop.
 * @module
 */
import type { App, Reservation, Revocation } from '../model.js';
import type { AppsRepo } from '../store/apps-repo.js';
import type { LimitsRepo } from '../store/limits-repo.js';

/** What the cache holds for one app. */
export interface CachedApp {
  readonly app: App;
  /** Secret values, newest first. */
  readonly secrets: readonly string[];
  /** Reservations by region. */
  readonly reservations: ReadonlyMap<string, Reservation>;
  readonly revocations: readonly Revocation[];
}

/** AppCache serves apps, secrets, reservations and revocations from memory. */
export class AppCache {
  readonly #apps = new Map<string, CachedApp>();
  readonly #repos: { apps: AppsRepo; limits: LimitsRepo };
  readonly #clock: () => number;

  constructor(repos: { apps: AppsRepo; limits: LimitsRepo }, clock: () => number) {
    this.#repos = repos;
    this.#clock = clock;
  }

  /** Loads every app from the store. */
  async load(): Promise<void> {
    const [apps, secrets, reservations, revocations] = await Promise.all([
      this.#repos.apps.list(),
      this.#repos.apps.listSecrets(),
      this.#repos.limits.listReservations(),
      this.#repos.limits.listRevocations(this.#clock()),
    ]);
    this.#apps.clear();
    for (const app of apps) {
      this.#apps.set(app.appId, {
        app,
        secrets: secrets.filter((s) => s.appId === app.appId).map((s) => s.secret),
        reservations: new Map(
          reservations.filter((r) => r.appId === app.appId).map((r) => [r.region, r]),
        ),
        revocations: revocations.filter((r) => r.appId === app.appId),
      });
    }
  }

  /** Called after `refresh()` (a write on this node): cluster mode tells the other nodes. */
  onRefreshed: ((appId: string) => void) | undefined;

  /** Re-reads one app from the store after a write on this node, then calls `onRefreshed`. */
  async refresh(appId: string): Promise<void> {
    await this.refreshQuietly(appId);
    this.onRefreshed?.(appId);
  }

  /** Re-reads one app from the store (a change notice from another node). */
  async refreshQuietly(appId: string): Promise<void> {
    const [app, secrets, reservations, revocations] = await Promise.all([
      this.#repos.apps.get(appId),
      this.#repos.apps.listSecrets(appId),
      this.#repos.limits.listReservations(appId),
      this.#repos.limits.listRevocations(this.#clock(), appId),
    ]);
    if (!app) {
      this.#apps.delete(appId);
      return;
    }
    this.#apps.set(appId, {
      app,
      secrets: secrets.map((s) => s.secret),
      reservations: new Map(reservations.map((r) => [r.region, r])),
      revocations,
    });
  }

  /** The cached app, or undefined. */
  get(appId: string): CachedApp | undefined {
    return this.#apps.get(appId);
  }

  /** The revocation in force for this channel and uid at `nowMs`, or undefined. */
  revocationFor(
    appId: string,
    channel: string,
    uid: string,
    nowMs: number,
  ): Revocation | undefined {
    return this.#apps
      .get(appId)
      ?.revocations.find(
        (r) => r.channel === channel && (r.uid === undefined || r.uid === uid) && r.untilMs > nowMs,
      );
  }
}
