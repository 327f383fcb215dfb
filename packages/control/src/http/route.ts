/**
 * Routes: a table of method + path pattern → handler, with the zod schemas of the body and the
 * query (which also generate the OpenAPI document) and who may call them.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { ClientTokenScope } from '../credentials/client-token.js';

/** Who made a request. */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'app'; readonly appId: string; readonly keyId: string }
  | { readonly kind: 'client'; readonly scope: ClientTokenScope }
  | { readonly kind: 'anonymous' };

/** The kinds of bearer a route accepts, or 'public'. */
export type RouteAccess = 'public' | readonly ('admin' | 'app' | 'client')[];

/** An HTTP method the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler answers: JSON by default, or text with its content type; 204 has no body. */
export interface Reply {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a handler receives. */
export interface RouteContext<Body, Query> {
  readonly req: IncomingMessage;
  readonly params: Readonly<Record<string, string>>;
  readonly body: Body;
  readonly query: Query;
  readonly principal: Principal;
  readonly nowMs: number;
}

/** A route with its schemas and handler. */
export interface RouteSpec<Body, Query> {
  readonly method: HttpMethod;
  /** OpenAPI-style pattern: `/api/v1/apps/{appId}`. */
  readonly path: string;
  readonly access: RouteAccess;
  readonly summary: string;
  readonly tag: string;
  readonly body?: z.ZodType<Body> | undefined;
  readonly query?: z.ZodType<Query> | undefined;
  /** Schema of the success answer, for the OpenAPI document. */
  readonly response?: z.ZodType | undefined;
  /** Success status (default 200). */
  readonly status?: number | undefined;
  /** Content types of the success answer besides JSON (CSV, text). */
  readonly alsoProduces?: readonly string[] | undefined;
  readonly handler: (ctx: RouteContext<Body, Query>) => Promise<Reply>;
}

/** A route with its types erased, as stored in the table. */
export type Route = RouteSpec<unknown, unknown>;

/** Erases a route's body and query types so that routes of any types share one table. */
export function defineRoute<Body = undefined, Query = undefined>(
  spec: RouteSpec<Body, Query>,
): Route {
  return spec as unknown as Route;
}

/** A route table compiled for matching. */
export class Router {
  readonly #routes: { route: Route; segments: string[] }[];

  constructor(routes: readonly Route[]) {
    this.#routes = routes.map((route) => ({ route, segments: route.path.split('/') }));
  }

  /** Every route, in table order. */
  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }

  /**
   * The route for a method and path with its parameters, `'method'` when the path exists under
   * another method, or undefined when it does not exist at all.
   */
  match(
    method: string,
    pathname: string,
  ): { route: Route; params: Record<string, string> } | 'method' | undefined {
    const parts = pathname.split('/');
    let pathMatched = false;
    for (const { route, segments } of this.#routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET'))
        return { route, params };
      pathMatched = true;
    }
    return pathMatched ? 'method' : undefined;
  }
}

function matchSegments(
  segments: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    const part = parts[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (part === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      params[segment.slice(1, -1)] = value;
    } else if (segment !== part) return undefined;
  }
  return params;
}
