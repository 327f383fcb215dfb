/**
 * The WebSocket endpoint of the demo call's rooms (`/demo/signal?room=NAME&uid=ID`), mounted on
 * the node's HTTPS surface with `ws` in `noServer` mode. Pages reach it through the node's own
 * signaling proxy (`self-proxy.ts`), so the proxy is the peer of every connection: the client
 * address used for limits is the proxy's `X-Forwarded-For` entry when the connection comes from
 * one of `trustForwardedFrom` (the node's own address), else the socket's.
 *
 * Limits: messages of at most `maxMessageBytes` (larger ones close the socket with 1009),
 * `messagesPerSecond` per connection (burst of twice that; beyond it the socket is closed with
 * 4429), `maxConnectionsPerClient` and `maxConnections` (refused with HTTP 429/503 before the
 * upgrade), and a ping every 30 s (a socket that misses one pong is ended).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { MEMBER_UID, ROOM_NAME, RoomRegistry } from './rooms.js';
import type { RoomLimits, RoomMember } from './rooms.js';

/** Options of {@link createDemoSignaling}. */
export interface DemoSignalingOptions extends RoomLimits {
  /** Socket addresses whose `X-Forwarded-For` is believed (the node's own signaling proxy). */
  readonly trustForwardedFrom: readonly string[];
  readonly maxMessageBytes?: number;
  readonly messagesPerSecond?: number;
  readonly maxConnectionsPerClient?: number;
  readonly maxConnections?: number;
  readonly heartbeatMs?: number;
}

/** The running endpoint. */
export interface DemoSignaling {
  /** The `upgrade` handler for `/demo/signal`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Rooms open now (for tests and logs). */
  readonly rooms: RoomRegistry;
  /** Closes every connection (1001) and stops the heartbeat. Idempotent. */
  close(): void;
}

/** WebSocket close codes of the room service (4000-4999 are the application's). */
export const DemoCloseCode = {
  BadMessage: 4400, // a message that is not `{ type: 'signal', data }`
  Refused: 4409, // room full, uid taken, too many rooms
  RateLimited: 4429, // more messages than the limit
} as const;

const MIB = 1024 * 1024;

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: { code: reason, message: reason } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The client's address: the last `X-Forwarded-For` hop when the peer is trusted. */
function clientAddress(req: IncomingMessage, trusted: ReadonlySet<string>): string {
  const peer = req.socket.remoteAddress ?? '';
  const normalized = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
  const forwarded = req.headers['x-forwarded-for'];
  if (!trusted.has(normalized) || typeof forwarded !== 'string') return normalized;
  const hops = forwarded.split(',').map((hop) => hop.trim());
  return hops[hops.length - 1] ?? normalized;
}

/** A token bucket of `ratePerS` with a burst of twice that. */
function createBucket(ratePerS: number): () => boolean {
  const capacity = ratePerS * 2;
  let tokens = capacity;
  let lastMs = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - lastMs) / 1000) * ratePerS);
    lastMs = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

function parseSignal(raw: RawData, isBinary: boolean): { data: unknown } | undefined {
  if (isBinary) return undefined;
  let parsed: unknown;
  try {
    const bytes = Buffer.isBuffer(raw)
      ? raw
      : Array.isArray(raw)
        ? Buffer.concat(raw)
        : Buffer.from(new Uint8Array(raw));
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const message = parsed as Record<string, unknown>;
  if (message['type'] !== 'signal' || message['data'] === undefined) return undefined;
  return { data: message['data'] };
}

/** Creates the room service's WebSocket endpoint. */
export function createDemoSignaling(options: DemoSignalingOptions): DemoSignaling {
  const rooms = new RoomRegistry(options);
  const trusted = new Set(options.trustForwardedFrom);
  const perClientMax = options.maxConnectionsPerClient ?? 20;
  const totalMax = options.maxConnections ?? 1000;
  const ratePerS = options.messagesPerSecond ?? 50;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes ?? MIB / 16,
    perMessageDeflate: false,
  });
  const perClient = new Map<string, number>();
  const alive = new WeakMap<WebSocket, boolean>();

  const accept = (ws: WebSocket, room: string, uid: string, client: string): void => {
    perClient.set(client, (perClient.get(client) ?? 0) + 1);
    alive.set(ws, true);
    const member: RoomMember = {
      uid,
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
    };
    const allow = createBucket(ratePerS);
    ws.on('pong', () => alive.set(ws, true));
    // Protocol errors (oversized or malformed frames) close the socket with their code (1009,
    // 1002 …); without a listener they would be thrown by the emitter.
    ws.on('error', () => {
      ws.terminate();
    });
    ws.on('message', (raw, isBinary) => {
      if (!allow()) {
        ws.close(DemoCloseCode.RateLimited, 'rate-limited');
        return;
      }
      const signal = parseSignal(raw, isBinary);
      if (!signal) ws.close(DemoCloseCode.BadMessage, 'bad-message');
      else rooms.relay(room, member, signal.data);
    });
    ws.on('close', () => {
      rooms.leave(room, member);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
    const joined = rooms.join(room, member);
    if (!joined.ok) ws.close(DemoCloseCode.Refused, joined.reason);
  };

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  return {
    rooms,
    handleUpgrade(req, socket, head) {
      const query = new URL(req.url ?? '/', 'https://node.invalid').searchParams;
      const room = query.get('room') ?? '';
      const uid = query.get('uid') ?? '';
      if (!ROOM_NAME.test(room) || !MEMBER_UID.test(uid)) {
        refuseUpgrade(socket, 400, 'bad-room-or-uid');
        return;
      }
      const client = clientAddress(req, trusted);
      if (wss.clients.size >= totalMax) {
        refuseUpgrade(socket, 503, 'too-many-connections');
        return;
      }
      if ((perClient.get(client) ?? 0) >= perClientMax) {
        refuseUpgrade(socket, 429, 'too-many-connections');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        accept(ws, room, uid, client);
      });
    },
    close() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'node shutting down');
      wss.close();
    },
  };
}
