/**
 * Routes that describe the service: the IP allowlist table (public), usage, live allocations,
 * the bandwidth chart, and health.
 * @module
 */
import { z } from 'zod';
import { parseAppUsername } from '../credentials/rest.js';
import type { AppUsername } from '../credentials/rest.js';
import { ApiProblem } from '../errors.js';
import { defineRoute } from '../http/route.js';
import type { Reply, Route } from '../http/route.js';
import { dayOf } from '../model.js';
import {
  allocationsQuery,
  allowlistQuery,
  bandwidthQuery,
  usageQuery,
  usageRowSchema,
} from '../schemas.js';
import { scopedAppId } from './api-context.js';
import type { ApiContext } from './api-context.js';
import { allowlist, renderAllowlist } from './allowlist.js';
import { USAGE_CSV_HEADER, toCsv, usageCsvRow, usageJson } from './json.js';

const DAY_MS = 86_400_000;

/** The informational routes. */
export function infoRoutes(api: ApiContext): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/allowlist',
      access: 'public',
      tag: 'allowlist',
      summary: 'Public relay addresses and ports per region, and the domains of automatic mode',
      query: allowlistQuery,
      alsoProduces: ['text/csv', 'text/plain'],
      handler: ({ query }) =>
        Promise.resolve(
          renderAllowlist(
            allowlist(api.node, query.region, api.cluster?.nodes()),
            query.format ?? 'json',
          ),
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{appId}/usage',
      access: ['admin', 'app'],
      tag: 'usage',
      summary: 'Usage per channel and day (UTC)',
      query: usageQuery,
      response: z.object({ usage: z.array(usageRowSchema) }),
      alsoProduces: ['text/csv'],
      handler: async ({ params, query, nowMs }) => usage(api, params['appId'] ?? '', query, nowMs),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/allocations',
      access: ['admin', 'app'],
      tag: 'live',
      summary: 'Live allocations on this node',
      query: allocationsQuery,
      handler: ({ principal, query }) => {
        const appId = scopedAppId(principal, query.appId);
        return Promise.resolve({
          status: 200,
          json: { allocations: allocations(api, appId, query.channel) },
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/stats/bandwidth',
      access: ['admin', 'app'],
      tag: 'live',
      summary: 'Relayed bytes per 10-second sample over the last hour',
      query: bandwidthQuery,
      response: z.object({
        sampleS: z.number(),
        samples: z.array(z.object({ t: z.string(), bytesIn: z.number(), bytesOut: z.number() })),
      }),
      handler: ({ principal, query, nowMs }) => {
        const appId = scopedAppId(principal, query.appId);
        const samples = api.bandwidth.samples(appId, query.minutes ?? 60, nowMs);
        return Promise.resolve({
          status: 200,
          json: {
            sampleS: 10,
            samples: samples.map((s) => ({ ...s, t: new Date(s.t).toISOString() })),
          },
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/healthz',
      access: 'public',
      tag: 'health',
      summary: 'Liveness',
      handler: () => Promise.resolve({ status: 200, json: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/readyz',
      access: 'public',
      tag: 'health',
      summary: 'Readiness: the stores answer and the node is not draining',
      handler: () => readiness(api),
    }),
  ];
}

/**
 * Ready when the store answers, the node is not draining, and in cluster mode Redis answers on a
 * node that serves the API (placement needs the registry); a relay-only node stays ready without
 * Redis (it admits from the last known counts).
 */
async function readiness(api: ApiContext): Promise<Reply> {
  try {
    await api.store.ping();
  } catch (error) {
    throw new ApiProblem('unavailable', 'the store does not answer', { cause: error });
  }
  if (api.nodeService.draining) throw new ApiProblem('unavailable', 'the node is draining');
  const health = api.cluster?.health();
  const role = api.nodeService.status().role;
  if (health && !health.redis && role !== 'relay')
    throw new ApiProblem('unavailable', 'redis does not answer');
  return {
    status: 200,
    json: {
      status: 'ready',
      store: api.store.kind,
      ...(health ? { redis: health.redis ? 'up' : 'down' } : {}),
    },
  };
}

async function usage(
  api: ApiContext,
  appId: string,
  query: z.infer<typeof usageQuery>,
  nowMs: number,
): Promise<Reply> {
  await api.apps.getApp(appId);
  const toDay = query.to ?? dayOf(nowMs);
  const fromDay = query.from ?? dayOf(Date.parse(`${toDay}T00:00:00Z`) - 30 * DAY_MS);
  if (fromDay > toDay)
    throw new ApiProblem('invalid-request', `from: ${fromDay} is after to ${toDay}`);
  await api.flushUsage();
  const rows = await api.usage.query({ appId, fromDay, toDay, channel: query.channel });
  if (query.format === 'csv')
    return {
      status: 200,
      contentType: 'text/csv; charset=utf-8',
      text: toCsv(USAGE_CSV_HEADER, rows.map(usageCsvRow)),
    };
  return { status: 200, json: { appId, from: fromDay, to: toDay, usage: rows.map(usageJson) } };
}

function allocations(
  api: ApiContext,
  appId: string | undefined,
  channel: string | undefined,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const wanted = (owner: AppUsername | undefined): boolean =>
    (appId === undefined || owner?.appId === appId) &&
    (channel === undefined || owner?.channel === channel);
  for (const a of api.relay?.listAllocations() ?? []) {
    const owner = parseAppUsername(a.username);
    if (!wanted(owner)) continue;
    out.push({
      appId: owner?.appId ?? null,
      channel: owner?.channel ?? null,
      uid: owner?.uid ?? null,
      transport: a.transport,
      client: { address: a.clientAddress, port: a.clientPort },
      relayed: a.relayed,
      bytesIn: a.bytesFromClient,
      bytesOut: a.bytesToClient,
      permissions: a.permissions,
      channels: a.channels,
      createdAt: new Date(a.createdAtMs).toISOString(),
      expiresAt: new Date(a.expiresAtMs).toISOString(),
    });
  }
  return out;
}
