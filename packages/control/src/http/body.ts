/**
 * Request bodies: read with a size limit (413 beyond it), JSON only, validated by a zod schema
 * whose first issue names the field (400 `invalid-request`).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { ApiProblem } from '../errors.js';

/** Reads the whole body, refusing with 413 as soon as it passes `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes)
    throw new ApiProblem('payload-too-large', `request body over ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new ApiProblem('payload-too-large', `request body over ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body (an empty body is `{}`); refuses other content types with 415. */
export function parseJsonBody(req: IncomingMessage, bytes: Buffer): unknown {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim();
  if (bytes.length === 0) return {};
  if (type !== 'application/json' && !(type?.endsWith('+json') ?? false))
    throw new ApiProblem(
      'unsupported-media-type',
      `content-type must be application/json, got ${type ?? ''}`,
    );
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new ApiProblem('invalid-request', 'body: not valid JSON', { cause: error });
  }
}

/** Validates `value` with `schema`; a failure names the first offending field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  throw new ApiProblem('invalid-request', `${field}: ${issue?.message ?? 'invalid'}`);
}

/** The query string as an object of first values (zod validates and coerces it). */
export function queryObject(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) if (!(key in out)) out[key] = value;
  return out;
}
