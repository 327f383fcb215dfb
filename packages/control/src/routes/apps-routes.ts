/**
 * Routes of app management (admin): apps, API keys, TURN secrets and reservations.
 * @module
 */
import { z } from 'zod';
import { ApiProblem } from '../errors.js';
import { defineRoute } from '../http/route.js';
import type { Route } from '../http/route.js';
import {
  appSchema,
  createAppBody,
  createKeyBody,
  patchAppBody,
  reservationBody,
  reservationSchema,
} from '../schemas.js';
import type { ApiContext } from './api-context.js';
import { appJson, keyJson, reservationJson } from './json.js';

const ADMIN = ['admin'] as const;
const APPS = '/api/v1/apps';
const APP = '/api/v1/apps/{appId}';

function p(params: Readonly<Record<string, string>>, name: string): string {
  return params[name] ?? '';
}

/** The app routes. */
export function appRoutes(api: ApiContext): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: APPS,
      access: ADMIN,
      tag: 'apps',
      summary: 'Create an app',
      body: createAppBody,
      response: appSchema,
      status: 201,
      handler: async ({ body }) => ({ status: 201, json: appJson(await api.apps.createApp(body)) }),
    }),
    defineRoute({
      method: 'GET',
      path: APPS,
      access: ADMIN,
      tag: 'apps',
      summary: 'List apps',
      response: z.object({ apps: z.array(appSchema) }),
      handler: async () => ({
        status: 200,
        json: { apps: (await api.apps.listApps()).map(appJson) },
      }),
    }),
    defineRoute({
      method: 'GET',
      path: APP,
      access: ADMIN,
      tag: 'apps',
      summary: 'Read an app',
      response: appSchema,
      handler: async ({ params }) => ({
        status: 200,
        json: appJson(await api.apps.getApp(p(params, 'appId'))),
      }),
    }),
    defineRoute({
      method: 'PATCH',
      path: APP,
      access: ADMIN,
      tag: 'apps',
      summary: 'Update an app',
      body: patchAppBody,
      response: appSchema,
      handler: async ({ params, body }) => ({
        status: 200,
        json: appJson(await api.apps.updateApp(p(params, 'appId'), body)),
      }),
    }),
    defineRoute({
      method: 'DELETE',
      path: APP,
      access: ADMIN,
      tag: 'apps',
      summary: 'Disable an app (kept for its usage history)',
      response: appSchema,
      handler: async ({ params }) => ({
        status: 200,
        json: appJson(await api.apps.updateApp(p(params, 'appId'), { enabled: false })),
      }),
    }),
    ...keyRoutes(api),
    ...secretRoutes(api),
    ...reservationRoutes(api),
  ];
}

function keyRoutes(api: ApiContext): Route[] {
  const key = z.object({
    keyId: z.string(),
    label: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  });
  return [
    defineRoute({
      method: 'POST',
      path: `${APP}/keys`,
      access: ADMIN,
      tag: 'apps',
      summary: 'Create an API key (the key is shown once)',
      body: createKeyBody,
      response: key.omit({ lastUsedAt: true }).extend({ key: z.string() }),
      status: 201,
      handler: async ({ params, body }) => {
        const created = await api.apps.createApiKey(p(params, 'appId'), body.label ?? '');
        return {
          status: 201,
          json: {
            keyId: created.keyId,
            key: created.key,
            label: created.label,
            createdAt: new Date(created.createdAtMs).toISOString(),
          },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${APP}/keys`,
      access: ADMIN,
      tag: 'apps',
      summary: 'List API keys (never their values)',
      response: z.object({ keys: z.array(key) }),
      handler: async ({ params }) => ({
        status: 200,
        json: { keys: (await api.apps.listApiKeys(p(params, 'appId'))).map(keyJson) },
      }),
    }),
    defineRoute({
      method: 'DELETE',
      path: `${APP}/keys/{keyId}`,
      access: ADMIN,
      tag: 'apps',
      summary: 'Delete an API key',
      status: 204,
      handler: async ({ params }) => {
        await api.apps.deleteApiKey(p(params, 'appId'), p(params, 'keyId'));
        return { status: 204 };
      },
    }),
  ];
}

function secretRoutes(api: ApiContext): Route[] {
  const secret = z.object({ secretId: z.string(), createdAt: z.string() });
  const json = (s: { secretId: string; createdAtMs: number }): z.infer<typeof secret> => ({
    secretId: s.secretId,
    createdAt: new Date(s.createdAtMs).toISOString(),
  });
  return [
    defineRoute({
      method: 'POST',
      path: `${APP}/secrets`,
      access: ADMIN,
      tag: 'apps',
      summary: 'Rotate: add a TURN secret that signs credentials from now on',
      response: secret,
      status: 201,
      handler: async ({ params }) => ({
        status: 201,
        json: json(await api.apps.rotateSecret(p(params, 'appId'))),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: `${APP}/secrets`,
      access: ADMIN,
      tag: 'apps',
      summary: 'List TURN secrets, newest first (values never shown)',
      response: z.object({ secrets: z.array(secret) }),
      handler: async ({ params }) => ({
        status: 200,
        json: { secrets: (await api.apps.listSecrets(p(params, 'appId'))).map(json) },
      }),
    }),
    defineRoute({
      method: 'DELETE',
      path: `${APP}/secrets/{secretId}`,
      access: ADMIN,
      tag: 'apps',
      summary: 'Retire a TURN secret (not the last one)',
      status: 204,
      handler: async ({ params }) => {
        await api.apps.retireSecret(p(params, 'appId'), p(params, 'secretId'));
        return { status: 204 };
      },
    }),
  ];
}

function reservationRoutes(api: ApiContext): Route[] {
  return [
    defineRoute({
      method: 'PUT',
      path: `${APP}/reservations/{region}`,
      access: ADMIN,
      tag: 'reservations',
      summary: 'Create or replace the capacity reservation of an app in a region',
      body: reservationBody,
      response: reservationSchema,
      handler: async ({ params, body }) => {
        const region = p(params, 'region');
        if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) throw invalidRegion(region);
        const saved = await api.apps.putReservation({ appId: p(params, 'appId'), region, ...body });
        return { status: 200, json: reservationJson(saved) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${APP}/reservations`,
      access: ADMIN,
      tag: 'reservations',
      summary: 'List the reservations of an app',
      response: z.object({ reservations: z.array(reservationSchema) }),
      handler: async ({ params }) => ({
        status: 200,
        json: {
          reservations: (await api.apps.listReservations(p(params, 'appId'))).map(reservationJson),
        },
      }),
    }),
    defineRoute({
      method: 'DELETE',
      path: `${APP}/reservations/{region}`,
      access: ADMIN,
      tag: 'reservations',
      summary: 'Delete a reservation',
      status: 204,
      handler: async ({ params }) => {
        await api.apps.deleteReservation(p(params, 'appId'), p(params, 'region'));
        return { status: 204 };
      },
    }),
  ];
}

function invalidRegion(region: string): ApiProblem {
  return new ApiProblem('invalid-request', `region: expected 1-63 of a-z 0-9 -, got '${region}'`);
}
