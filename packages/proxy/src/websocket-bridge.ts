/**
 * Bridging two WebSockets (client ↔ upstream): messages relayed both ways as text or binary,
 * back-pressure by pausing the sending side while the other side's buffer is full, close codes
 * passed through, abnormal closures propagated as abnormal closures.
 * @module
 */
import type { WebSocket } from 'ws';

/** Bytes buffered on one side before the other side stops being read. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Reading resumes once the buffer has drained below this. */
const LOW_WATER_BYTES = 256 * 1024;
/** Close codes a close frame may carry, RFC 6455 §7.4.1 (1005, 1006 and 1015 may not be sent). */
function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Callbacks of {@link bridgeWebSockets}. */
export interface BridgeEvents {
  /** Called once, when both sides are closed (or terminated). */
  readonly onClosed: (info: {
    clientCode: number;
    upstreamCode: number;
    bytesIn: number;
    bytesOut: number;
  }) => void;
  /** Called for an error on either side (the bridge then tears both sides down). */
  readonly onError: (side: 'client' | 'upstream', error: Error) => void;
}

/** A running bridge. */
export interface WebSocketBridge {
  /** Closes both sides with `code` (1001 when the proxy shuts down). */
  close(code: number, reason: string): void;
}

/**
 * Relays between `client` and `upstream`, both open. Ownership: the bridge owns both sockets
 * from here on and reports their end through `events.onClosed` exactly once.
 */
export function bridgeWebSockets(
  client: WebSocket,
  upstream: WebSocket,
  events: BridgeEvents,
): WebSocketBridge {
  const counts = { bytesIn: 0, bytesOut: 0, clientCode: 0, upstreamCode: 0 };
  let closedSides = 0;
  const relay = (from: WebSocket, to: WebSocket, count: 'bytesIn' | 'bytesOut'): void => {
    from.on('message', (data: Buffer, isBinary: boolean) => {
      counts[count] += data.length;
      if (to.readyState !== to.OPEN) return;
      to.send(data, { binary: isBinary }, () => {
        if (from.isPaused && to.bufferedAmount < LOW_WATER_BYTES) from.resume();
      });
      if (to.bufferedAmount > HIGH_WATER_BYTES) from.pause();
    });
  };
  relay(client, upstream, 'bytesIn');
  relay(upstream, client, 'bytesOut');
  const onSideClosed = (
    side: 'client' | 'upstream',
    other: WebSocket,
    code: number,
    reason: Buffer,
  ): void => {
    if (side === 'client') counts.clientCode = code;
    else counts.upstreamCode = code;
    passClose(other, code, reason);
    closedSides++;
    if (closedSides === 2) events.onClosed({ ...counts });
  };
  client.on('close', (code: number, reason: Buffer) => {
    onSideClosed('client', upstream, code, reason);
  });
  upstream.on('close', (code: number, reason: Buffer) => {
    onSideClosed('upstream', client, code, reason);
  });
  client.on('error', (error) => {
    events.onError('client', error);
    client.terminate();
  });
  upstream.on('error', (error) => {
    events.onError('upstream', error);
    upstream.terminate();
  });
  return {
    close: (code, reason) => {
      client.close(code, reason);
      upstream.close(code, reason);
    },
  };
}

/** Passes one side's closure to the other: same code and reason, or an abnormal end. */
function passClose(to: WebSocket, code: number, reason: Buffer): void {
  if (to.readyState === to.CLOSED) return;
  if (to.readyState === to.CLOSING) return;
  if (code === 1005) {
    to.close();
  } else if (isSendableCloseCode(code)) {
    to.close(code, reason);
  } else {
    to.terminate();
  }
}
