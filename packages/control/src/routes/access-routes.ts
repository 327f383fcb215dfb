/**
 * Routes an app's backend (API key) or a browser (client token) calls: credentials in WebRTC and
 * TURN REST shapes, client tokens and revocations.
 * @module
 */
import { z } from 'zod';
import { ApiProblem } from '../errors.js';
import { defineRoute } from '../http/route.js';
import type { Principal, Reply, Route } from '../http/route.js';
import {
  clientTokenBody,
  credentialsBody,
  credentialsSchema,
  revocationBody,
  revocationQuery,
  turnCredentialsQuery,
} from '../schemas.js';
import type { ApiContext } from './api-context.js';
import { revocationJson } from './json.js';

const APP = '/api/v1/apps/{appId}';
const APP_OR_ADMIN = ['admin', 'app'] as const;

function appIdOf(params: Readonly<Record<string, string>>): string {
  return params['appId'] ?? '';
}

/** A JSON reply of a synchronous service answer. */
function reply(status: number, json: unknown): Promise<Reply> {
  return Promise.resolve({ status, json });
}

/** A client token may fetch credentials for its own channel and uid only. */
function checkClientScope(principal: Principal, channel: string, uid: string): void {
  if (principal.kind !== 'client') return;
  if (principal.scope.channel !== channel || principal.scope.uid !== uid)
    throw new ApiProblem(
      'forbidden',
      `this client token is for channel ${principal.scope.channel} and uid ${principal.scope.uid} only`,
    );
}

/** The credential and revocation routes. */
export function accessRoutes(api: ApiContext): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: `${APP}/credentials`,
      access: ['admin', 'app', 'client'],
      tag: 'credentials',
      summary: 'Issue short-lived TURN credentials as WebRTC iceServers',
      body: credentialsBody,
      response: credentialsSchema,
      handler: async ({ params, body, principal }) => {
        checkClientScope(principal, body.channel, body.uid);
        return reply(200, await api.access.issueCredentials(appIdOf(params), body));
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${APP}/turn-credentials`,
      access: APP_OR_ADMIN,
      tag: 'credentials',
      summary: 'Issue TURN credentials in the draft-uberti TURN REST shape',
      query: turnCredentialsQuery,
      response: z.object({
        username: z.string(),
        password: z.string(),
        ttl: z.number().int(),
        uris: z.array(z.string()),
      }),
      handler: async ({ params, query }) =>
        reply(200, await api.access.turnRestCredentials(appIdOf(params), query)),
    }),
    defineRoute({
      method: 'POST',
      path: `${APP}/client-tokens`,
      access: APP_OR_ADMIN,
      tag: 'credentials',
      summary: 'Issue a client token a browser may use to fetch its own credentials',
      body: clientTokenBody,
      response: z.object({ token: z.string(), expiresAt: z.string() }),
      status: 201,
      handler: ({ params, body }) => reply(201, api.access.issueClientToken(appIdOf(params), body)),
    }),
    defineRoute({
      method: 'POST',
      path: `${APP}/revocations`,
      access: APP_OR_ADMIN,
      tag: 'revocations',
      summary: 'Revoke a channel or a uid in it: live allocations end, new ones are refused',
      body: revocationBody,
      response: z.object({ endedAllocations: z.number().int(), until: z.string() }),
      handler: async ({ params, body }) => ({
        status: 200,
        json: await api.access.revoke(appIdOf(params), body),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: `${APP}/revocations`,
      access: APP_OR_ADMIN,
      tag: 'revocations',
      summary: 'List revocations in force',
      response: z.object({
        revocations: z.array(
          z.object({
            channel: z.string(),
            uid: z.string().nullable(),
            until: z.string(),
            createdAt: z.string(),
          }),
        ),
      }),
      handler: async ({ params }) => ({
        status: 200,
        json: {
          revocations: (await api.access.listRevocations(appIdOf(params))).map(revocationJson),
        },
      }),
    }),
    defineRoute({
      method: 'DELETE',
      path: `${APP}/revocations`,
      access: APP_OR_ADMIN,
      tag: 'revocations',
      summary: 'Lift a revocation',
      query: revocationQuery,
      status: 204,
      handler: async ({ params, query }) => {
        await api.access.liftRevocation(appIdOf(params), query.channel, query.uid);
        return { status: 204 };
      },
    }),
  ];
}
