/**
 * createControlPlane: assembles the store, the in-memory enforcement state, the relay hooks,
 * usage metering and the HTTP API, and returns a `handle(req, res)` for any `node:http` or
 * `node:https` server (`build` without `listen`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import { createClusterMetrics } from './cluster/cluster-metrics.js';
import { ClusterRuntime } from './cluster/cluster-runtime.js';
import { Admission } from './enforcement/admission.js';
import { AppCache } from './enforcement/app-cache.js';
import { IssuedUsers } from './enforcement/issued-users.js';
import { RedisIssuedUsers } from './cluster/issued-users-redis.js';
import { ApiServer } from './http/api-server.js';
import { Authenticator } from './http/auth.js';
import { openApiDocument } from './http/openapi.js';
import { RateLimiter } from './http/rate-limit.js';
import { Router, defineRoute } from './http/route.js';
import { createControlMetrics } from './metrics.js';
import type { App } from './model.js';
import { resolveOptions } from './options.js';
import type { ControlPlaneOptions, ResolvedOptions } from './options.js';
import { accessRoutes } from './routes/access-routes.js';
import type { ApiContext } from './routes/api-context.js';
import { appRoutes } from './routes/apps-routes.js';
import { infoRoutes } from './routes/info-routes.js';
import { nodeRoutes } from './routes/node-routes.js';
import { AccessService } from './services/access-service.js';
import type { CredentialsRequest, IssuedCredentials } from './services/access-service.js';
import { AppService } from './services/app-service.js';
import type { CreateAppInput } from './services/app-service.js';
import { NodeService } from './services/node-service.js';
import { AppsRepo } from './store/apps-repo.js';
import { KeysRepo, sha256Hex } from './store/keys-repo.js';
import { LimitsRepo } from './store/limits-repo.js';
import { openStore } from './store/open.js';
import type { Store } from './store/open.js';
import { UsageRepo } from './store/usage-repo.js';
import { BandwidthHistory } from './usage/bandwidth.js';
import { UsageMeter } from './usage/meter.js';
import { serveWeb as serveWebPages } from './web/index.js';

/** The API version reported in the OpenAPI document. */
export const API_VERSION = '1.0.0';

/** The service API `cloudproxy start` uses to provision without HTTP. */
export interface ControlPlaneApps {
  createApp(input: CreateAppInput): Promise<App>;
  /** A new API key of the app; `key` is its only copy. */
  createApiKey(appId: string, label?: string): Promise<{ keyId: string; key: string }>;
  issueCredentials(appId: string, request: CredentialsRequest): Promise<IssuedCredentials>;
  /**
   * A client token for one channel and uid of the app, as `POST …/client-tokens` answers it
   * (ttl default 600 s, capped at 3600); rejects for an unknown or disabled app.
   */
  issueClientToken(
    appId: string,
    request: { channel: string; uid: string; ttl?: number | undefined },
  ): Promise<{ token: string; expiresAt: string }>;
  findAppByName(name: string): Promise<App | undefined>;
}

/** A running control plane. */
export interface ControlPlane {
  /**
   * Serves the request when it belongs to the control plane (`/api/v1/…`, `/healthz`,
   * `/readyz`, and `/console*`, `/diagnostics*`, `/demo` when the web pages are present) and
   * returns true; returns false, untouched, otherwise.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly apps: ControlPlaneApps;
  /** The admin token generated at this start (first start without one), shown once; else undefined. */
  readonly generatedAdminToken: string | undefined;
  /** Whether `token` is the admin token (constant time), for other parts of the node (/metrics). */
  isAdminToken(token: string): boolean;
  /** The OpenAPI 3.1 document. */
  readonly openApi: Readonly<Record<string, unknown>>;
  /** This node: status and draining (`cloudproxy node drain`). */
  readonly node: NodeService;
  /** Reads the relay's live counters and writes pending usage to the store now. */
  flushUsage(): Promise<void>;
  /** Final usage flush, then closes the store. Idempotent. Close the relay first. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SETTING_CLIENT_KEY = 'client_token_key';
const SETTING_ADMIN_HASH = 'admin_token_sha256';

async function adminHash(
  options: ResolvedOptions,
  keys: KeysRepo,
): Promise<{ hash: string; generated: string | undefined }> {
  const given = options.adminToken;
  if (typeof given === 'string') return { hash: sha256Hex(given), generated: undefined };
  if (given !== undefined) return { hash: given.sha256.toLowerCase(), generated: undefined };
  const stored = await keys.getSetting(SETTING_ADMIN_HASH);
  if (stored !== undefined) return { hash: stored, generated: undefined };
  const token = `cpa_${randomBytes(32).toString('base64url')}`;
  const hash = await keys.ensureSetting(SETTING_ADMIN_HASH, () => sha256Hex(token));
  return { hash, generated: hash === sha256Hex(token) ? token : undefined };
}

/** Creates the control plane: opens and migrates the store, installs the relay hooks. */
export async function createControlPlane(input: ControlPlaneOptions): Promise<ControlPlane> {
  const options = resolveOptions(input);
  const store = await openStore(options.store, (error) =>
    options.logger?.warn({ event: 'store.connection-lost', err: error }, 'store connection lost'),
  );
  try {
    return await assemble(options, store);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function assemble(options: ResolvedOptions, store: Store): Promise<ControlPlane> {
  const { clock, node, relay, logger } = options;
  const repos = {
    apps: new AppsRepo(store.db),
    keys: new KeysRepo(store.db),
    limits: new LimitsRepo(store.db),
  };
  const usageRepo = new UsageRepo(store.db);
  const admin = await adminHash(options, repos.keys);
  const clientTokenKey = Buffer.from(
    await repos.keys.ensureSetting(SETTING_CLIENT_KEY, () => randomBytes(32).toString('base64url')),
    'base64url',
  );
  const cache = new AppCache(repos, clock);
  await cache.load();
  const metrics = createControlMetrics(options.registry);
  const bandwidth = new BandwidthHistory();
  const meter = new UsageMeter({ bandwidth, clock });
  const nodeService = new NodeService({
    relay,
    identity: {
      nodeId: options.cluster?.nodeId ?? os.hostname(),
      role: options.cluster?.role ?? 'all',
      region: node.region,
    },
    clock,
    logger,
  });
  const cluster = options.cluster
    ? await ClusterRuntime.connect({
        options: options.cluster,
        node,
        relay,
        cache,
        store,
        usage: usageRepo,
        metrics: createClusterMetrics(metrics.registry),
        logger,
        draining: () => nodeService.draining,
      })
    : undefined;
  if (cluster) cache.onRefreshed = (appId) => cluster.publishApp(appId);
  const admission = new Admission({
    cache,
    region: node.region,
    clock,
    metrics,
    meter,
    ledger: cluster?.quota,
  });
  const localIssued = new IssuedUsers();
  const issued = cluster
    ? new RedisIssuedUsers({ redis: cluster.redis, local: localIssued, logger })
    : localIssued;
  const apps = new AppService({ repos, cache, clock, region: node.region, relay });
  const access = new AccessService({
    cache,
    issued,
    limits: repos.limits,
    relay,
    endpoint: node,
    region: node.region,
    clientTokenKey,
    clock,
    metrics,
    placement: cluster && ((region) => endpointOf(cluster.place(region))),
    onRevoked: cluster && ((appId, channel, uid) => cluster.publishRevoke(appId, channel, uid)),
  });

  let flushing: Promise<void> = Promise.resolve();
  const observeRelay = (): void => {
    if (!relay) return;
    try {
      meter.observe(relay.listAllocations());
    } catch (error) {
      // The relay cannot report its live counters (e.g. it is already closed); what is pending
      // (ended allocations are accounted at release) is still written.
      logger?.warn({ event: 'usage.observe-failed', err: error }, 'relay counters unreadable');
    }
  };
  const flushOnce = async (): Promise<void> => {
    observeRelay();
    const rows = meter.take();
    try {
      await (cluster ? cluster.pushUsage(rows) : usageRepo.add(rows));
    } catch (error) {
      meter.restore(rows);
      metrics.usageFlushFailures.inc();
      throw error;
    }
    await cluster?.rollup();
  };
  const flushUsage = (): Promise<void> =>
    (flushing = flushing.catch(() => undefined).then(flushOnce));

  const api: ApiContext = {
    apps,
    access,
    usage: usageRepo,
    store,
    admission,
    bandwidth,
    relay,
    node,
    nodeService,
    cluster,
    flushUsage,
  };
  const routes = [...appRoutes(api), ...accessRoutes(api), ...infoRoutes(api), ...nodeRoutes(api)];
  let document: Record<string, unknown> = {};
  routes.push(
    defineRoute({
      method: 'GET',
      path: '/api/v1/openapi.json',
      access: 'public',
      tag: 'meta',
      summary: 'This OpenAPI 3.1 document',
      handler: () => Promise.resolve({ status: 200, json: document }),
    }),
  );
  document = openApiDocument(routes, API_VERSION);
  const auth = new Authenticator({
    adminSha256Hex: admin.hash,
    keys: repos.keys,
    clientTokenKey,
    onTouchError: (error) =>
      logger?.warn({ event: 'api-key.touch-failed', err: error }, 'could not record API key use'),
  });
  const server = new ApiServer({
    router: new Router(routes),
    auth,
    limiter: new RateLimiter(options.ratePerMinute),
    maxBodyBytes: options.maxBodyBytes,
    clock,
    logger,
    metrics,
  });
  const serveWeb = options.serveWeb ?? serveWebPages;

  relay?.setHooks(
    cluster ? { ...admission.hooks(), alternate: (r) => cluster.alternate(r) } : admission.hooks(),
  );
  cluster?.start(admission);
  const timer = setInterval(() => {
    localIssued.sweep(clock());
    flushUsage().catch((error: unknown) => {
      logger?.error({ event: 'usage.flush-failed', err: error }, 'usage flush failed; will retry');
    });
  }, options.usageIntervalMs);
  timer.unref();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      clearInterval(timer);
      nodeService.close();
      try {
        await flushUsage();
      } finally {
        await cluster?.close();
        await store.close();
      }
    })());

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://control.invalid');
      if (ApiServer.owns(url.pathname)) {
        server.serve(req, res, url).catch((error: unknown) => {
          logger?.error({ event: 'api.write-failed', err: error }, 'could not answer a request');
          res.destroy();
        });
        return true;
      }
      if (/^\/(console|diagnostics|demo)(\/|$)/.test(url.pathname)) return serveWeb(req, res);
      return false;
    },
    apps: {
      createApp: (appInput) => apps.createApp(appInput),
      createApiKey: async (appId, label) => {
        const created = await apps.createApiKey(appId, label);
        return { keyId: created.keyId, key: created.key };
      },
      issueCredentials: (appId, request) => access.issueCredentials(appId, request),
      issueClientToken: (appId, request) =>
        Promise.resolve().then(() => access.issueClientToken(appId, request)),
      findAppByName: (name) => apps.findAppByName(name),
    },
    node: nodeService,
    generatedAdminToken: admin.generated,
    isAdminToken: (token) => auth.isAdmin(token),
    openApi: document,
    flushUsage,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The `turn:` endpoint of a placed node. */
function endpointOf(
  placed: ReturnType<ClusterRuntime['place']>,
): { publicHost: string; udpPort: number; tlsPort: number } | undefined {
  return (
    placed && {
      publicHost: placed.publicHost,
      udpPort: placed.ports.udp,
      tlsPort: placed.ports.tls,
    }
  );
}

/** SHA-256 (hex) of an admin token, for `adminToken: { sha256 }`. */
export function adminTokenSha256(token: string): string {
  return sha256Hex(token);
}
