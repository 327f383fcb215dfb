/**
 * Writing refusals: a JSON error body with its stable code, CORS headers, on an HTTP response or
 * on the raw socket of a refused upgrade.
 * @module
 */
import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, statusOf } from './errors.js';
import type { ProxyErrorCode } from './errors.js';

/** Writes a refusal on a response that has not started; a started one is destroyed instead. */
export function writeRefusal(
  res: ServerResponse,
  code: ProxyErrorCode,
  message: string,
  extraHeaders: Readonly<Record<string, string>>,
  closeConnection: boolean,
): number {
  const status = statusOf(code);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = errorBody(code, message);
  res.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(body);
  return status;
}

/** Writes a refusal as a raw HTTP/1.1 response on an upgrade socket, then ends it. */
export function writeSocketRefusal(
  socket: Duplex,
  code: ProxyErrorCode,
  message: string,
  extraHeaders: Readonly<Record<string, string>>,
): number {
  const status = statusOf(code);
  writeRawResponse(
    socket,
    status,
    { ...extraHeaders, 'content-type': 'application/json; charset=utf-8' },
    errorBody(code, message),
  );
  return status;
}

/** Writes a complete HTTP/1.1 response on a raw socket and ends it. */
export function writeRawResponse(
  socket: Duplex,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${bytes.length}`, 'connection: close', 'cache-control: no-store');
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes]));
}
