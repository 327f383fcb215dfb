/**
 * Change notices between nodes on the Redis channel `cp:events`: an app changed (settings,
 * secrets, reservations: re-read it; disabled: end its allocations) or a channel or uid was
 * revoked (re-read, end matching allocations). The node that made the change publishes after
 * writing PostgreSQL; every node, the publisher excepted, applies the notice. A periodic full
 * reload from PostgreSQL is the backstop for notices missed while disconnected.
 * @module
 */
import { z } from 'zod';

/** The pub/sub channel of change notices. */
export const EVENTS_CHANNEL = 'cp:events';

const noticeSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('app'), o: z.string(), a: z.string() }),
  z.object({
    t: z.literal('revoke'),
    o: z.string(),
    a: z.string(),
    c: z.string(),
    u: z.string().optional(),
  }),
]);

/** A change notice (`o` is the publishing node). */
export type ChangeNotice = z.infer<typeof noticeSchema>;

/** Parses a notice; undefined for anything malformed (logged by the caller). */
export function parseChangeNotice(text: string): ChangeNotice | undefined {
  try {
    const result = noticeSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
