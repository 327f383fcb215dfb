/**
 * `POST /demo/token` with `{ room, uid }`: a short-lived client token of the demo app for channel
 * `demo-<room>` and that uid, so the demo page (which has no API key) can fetch TURN credentials
 * from the control plane like any app's page does. Rate limited per client address.
 *
 * Answer: `{ appId, token, expiresAt, channel, uid, credentialsPath, signalPath }`; refusals are
 * JSON `{ error: { code, message } }` (400 `invalid-request`, 405, 413, 429 `rate-limited`, 500).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MEMBER_UID, ROOM_NAME } from './rooms.js';

/** What the route needs from the node. */
export interface TokenRouteOptions {
  readonly appId: string;
  readonly issueClientToken: (
    appId: string,
    request: { channel: string; uid: string; ttl?: number },
  ) => Promise<{ token: string; expiresAt: string }>;
  /** The proxy path of the room service (`/{node}/demo/signal`), known once the node listens. */
  readonly signalPath: () => string | undefined;
  /** Tokens per client address per minute; default 30. */
  readonly perMinute?: number;
  /** Token lifetime in seconds; default 600. */
  readonly ttlS?: number;
  readonly onError?: (error: unknown) => void;
}

const MAX_BODY_BYTES = 1024;
const WINDOW_MS = 60_000;
const MAX_TRACKED_CLIENTS = 10_000;

function sendJson(res: ServerResponse, status: number, body: unknown, extra = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(text);
}

function refuse(res: ServerResponse, status: number, code: string, message: string, extra = {}) {
  sendJson(res, status, { error: { code, message } }, extra);
}

/** A fixed-window counter per client address. */
function createWindowLimiter(perMinute: number): (client: string) => boolean {
  const windows = new Map<string, { startMs: number; count: number }>();
  return (client) => {
    const now = Date.now();
    if (windows.size > MAX_TRACKED_CLIENTS) {
      for (const [key, entry] of windows) if (now - entry.startMs >= WINDOW_MS) windows.delete(key);
    }
    const entry = windows.get(client);
    if (!entry || now - entry.startMs >= WINDOW_MS) {
      windows.set(client, { startMs: now, count: 1 });
      return true;
    }
    entry.count += 1;
    return entry.count <= perMinute;
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** `{ room, uid }` from the body, or a message naming the bad field. */
function parseRequest(text: string): { room: string; uid: string } | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body: not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'body: expected an object';
  const { room, uid } = body as Record<string, unknown>;
  if (typeof room !== 'string' || !ROOM_NAME.test(room))
    return 'room: 1-32 letters, digits, - or _';
  if (typeof uid !== 'string' || !MEMBER_UID.test(uid)) return 'uid: 1-64 letters, digits, - or _';
  return { room, uid };
}

async function answer(options: TokenRouteOptions, req: IncomingMessage, res: ServerResponse) {
  const text = await readBody(req);
  if (text === undefined) {
    refuse(res, 413, 'payload-too-large', `body larger than ${MAX_BODY_BYTES} bytes`);
    return;
  }
  const parsed = parseRequest(text);
  if (typeof parsed === 'string') {
    refuse(res, 400, 'invalid-request', parsed);
    return;
  }
  const signalPath = options.signalPath();
  if (signalPath === undefined) {
    refuse(res, 503, 'unavailable', 'the node is not listening yet');
    return;
  }
  const channel = `demo-${parsed.room}`;
  const issued = await options.issueClientToken(options.appId, {
    channel,
    uid: parsed.uid,
    ttl: options.ttlS ?? 600,
  });
  sendJson(res, 200, {
    appId: options.appId,
    token: issued.token,
    expiresAt: issued.expiresAt,
    channel,
    uid: parsed.uid,
    credentialsPath: `/api/v1/apps/${options.appId}/credentials`,
    signalPath,
  });
}

/** The handler of `POST /demo/token`. */
export function createTokenRoute(
  options: TokenRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const allow = createWindowLimiter(options.perMinute ?? 30);
  return (req, res) => {
    if (req.method !== 'POST') {
      refuse(res, 405, 'method-not-allowed', 'use POST', { allow: 'POST' });
      return;
    }
    if (!allow(req.socket.remoteAddress ?? '')) {
      refuse(res, 429, 'rate-limited', 'too many demo tokens; try again in a minute', {
        'retry-after': '60',
      });
      return;
    }
    answer(options, req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) refuse(res, 500, 'internal', 'could not issue a demo token');
      else res.destroy();
    });
  };
}
