/**
 * The control plane of `cloudproxy start`: SQLite in the data directory or PostgreSQL, and
 * cluster mode (`--redis-url` with `--database-url`) with its role and timings; the relay as the
 * control plane sees it (with its allocation count for the registry's load and draining for
 * `cloudproxy node drain`).
 * @module
 */
import path from 'node:path';
import { createControlPlane } from '@cloudproxy/control';
import type { ControlPlane, ControlPlaneOptions, RelayNode } from '@cloudproxy/control';
import type { TurnServer } from '@cloudproxy/turn/node';
import type { Registry } from 'prom-client';
import type { StartSettings } from '../config/start-config.js';
import type { LoadedTurnConfig } from '../config/turn-args.js';
import type { createLogger } from '../logger.js';
import { credentialTlsPort } from './start-https.js';

/** Creates the control plane of `start` with the relay attached (when this node has one). */
export function openControlPlane(ctx: {
  settings: StartSettings;
  turn: LoadedTurnConfig;
  relay: TurnServer | undefined;
  host: string;
  https: { port: number };
  registry: Registry;
  log: ReturnType<typeof createLogger>;
}): Promise<ControlPlane> {
  const { settings, turn, relay, https } = ctx;
  return createControlPlane({
    store: settings.databaseUrl
      ? { kind: 'postgres', url: settings.databaseUrl }
      : { kind: 'sqlite', file: path.join(settings.dataDir, 'cloudproxy.db') },
    adminToken: settings.adminToken,
    node: {
      region: settings.region,
      publicHost: ctx.host,
      relayAddresses: [...new Set(relay?.relayAddresses ?? [])],
      udpPort: settings.turnPort,
      tcpPort: settings.turnPort,
      tlsPort: credentialTlsPort(settings, https.port),
      relayPortRange: { min: turn.server.minPort ?? 49152, max: turn.server.maxPort ?? 65535 },
      domains: settings.publicHost ? [settings.publicHost] : [],
    },
    relay: relayNode(relay),
    logger: ctx.log.pino,
    registry: ctx.registry,
    usageIntervalMs: settings.cluster.usageIntervalMs,
    cluster: clusterOptions(settings, https.port),
  });
}

/** The relay of `start` as a `RelayNode`, or undefined on an API-only node. */
export function relayNode(relay: TurnServer | undefined): RelayNode | undefined {
  if (!relay) return undefined;
  return {
    setHooks: (hooks) => {
      relay.setHooks(hooks);
    },
    listAllocations: () => relay.listAllocations(),
    revokeAllocations: (match) => relay.revokeAllocations(match),
    allocationCount: () => relay.core.allocationCount,
    setDraining: (draining) => {
      relay.core.setDraining(draining);
    },
  };
}

/** The control plane's cluster options, or undefined for a single node. */
export function clusterOptions(
  settings: StartSettings,
  httpsPort: number,
): ControlPlaneOptions['cluster'] {
  const c = settings.cluster;
  if (c.redisUrl === undefined) return undefined;
  return {
    redisUrl: c.redisUrl,
    nodeId: c.nodeId,
    role: c.role,
    capacity: c.capacity,
    regionOrder: c.regionOrder,
    heartbeatMs: c.heartbeatMs,
    ttlMs: c.nodeTtlMs,
    httpsPort,
  };
}
