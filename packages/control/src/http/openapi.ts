/**
 * The OpenAPI 3.1 document of the API, generated from the route table and its zod schemas
 * (`z.toJSONSchema`), so the document and the validation never disagree.
 * @module
 */
import { z } from 'zod';
import { problemSchema } from '../schemas.js';
import type { Route } from './route.js';

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  delete out['$schema'];
  return out;
}

function parameters(route: Route): JsonObject[] {
  const out: JsonObject[] = [];
  for (const match of route.path.matchAll(/\{(\w+)\}/g))
    out.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
  if (route.query) {
    const schema = jsonSchema(route.query, 'input');
    const props = (schema['properties'] ?? {}) as Record<string, JsonObject>;
    const required = new Set((schema['required'] ?? []) as string[]);
    for (const [name, s] of Object.entries(props))
      out.push({ name, in: 'query', required: required.has(name), schema: s });
  }
  return out;
}

function responses(route: Route): JsonObject {
  const status = String(route.status ?? 200);
  const content: JsonObject = {};
  if (route.response)
    content['application/json'] = { schema: jsonSchema(route.response, 'output') };
  for (const type of route.alsoProduces ?? []) content[type] = { schema: { type: 'string' } };
  const success: JsonObject = { description: route.summary };
  if (Object.keys(content).length > 0 && status !== '204') success['content'] = content;
  return {
    [status]: success,
    default: {
      description: 'A refusal (RFC 9457 problem details with a stable code)',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    },
  };
}

function operationId(route: Route): string {
  const words = route.path
    .replace('/api/v1/', '')
    .split(/[/{}-]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return `${route.method.toLowerCase()}${words.join('')}`;
}

/** Builds the OpenAPI 3.1 document of `routes`. */
export function openApiDocument(routes: readonly Route[], version: string): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const operation: JsonObject = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      security: route.access === 'public' ? [] : [{ bearer: [] }],
      parameters: parameters(route),
      responses: responses(route),
    };
    if (route.access !== 'public') operation['x-cloudproxy-tokens'] = route.access;
    if (route.body)
      operation['requestBody'] = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
      };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cloudproxy control plane',
      version,
      description: 'Apps, reservations, TURN credentials, revocation, allowlist and usage.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
    },
    paths,
  };
}
