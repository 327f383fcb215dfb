/**
 * Routes of this node (admin): its status, draining (`cloudproxy node drain`), and in cluster
 * mode the registry's live nodes.
 * @module
 */
import { z } from 'zod';
import { defineRoute } from '../http/route.js';
import type { Route } from '../http/route.js';
import type { ApiContext } from './api-context.js';

/** Longest drain timeout: one day. */
const MAX_DRAIN_S = 86_400;

const drainBody = z.strictObject({
  timeoutS: z.number().int().min(0).max(MAX_DRAIN_S).optional(),
});

/** The node routes. */
export function nodeRoutes(api: ApiContext): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/node',
      access: ['admin'],
      tag: 'node',
      summary: 'This node: identity, draining, live allocations',
      handler: () => Promise.resolve({ status: 200, json: api.nodeService.status() }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/node/drain',
      access: ['admin'],
      tag: 'node',
      summary: 'Drain this node: no new allocations; the rest end after timeoutS (default 3600)',
      body: drainBody,
      handler: ({ body }) =>
        Promise.resolve({ status: 200, json: api.nodeService.drain(body.timeoutS ?? 3600) }),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/node/drain',
      access: ['admin'],
      tag: 'node',
      summary: 'Stop draining this node',
      handler: () => Promise.resolve({ status: 200, json: api.nodeService.resume() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/cluster/nodes',
      access: ['admin'],
      tag: 'node',
      summary: 'Live nodes of the cluster registry (cluster mode; empty otherwise)',
      handler: () => Promise.resolve({ status: 200, json: { nodes: api.cluster?.nodes() ?? [] } }),
    }),
  ];
}
