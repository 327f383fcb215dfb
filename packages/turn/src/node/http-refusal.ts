/**
 * The answer to an HTTP request that reached a STUN/TURN stream port: a short 400 that says what
 * the port is and, when the node has one, where its HTTPS surface is.
 * @module
 */

/** An HTTP/1.x request line starts with a method token (RFC 9110 §9) and a space. */
const HTTP_METHOD = /^[A-Z]{3,16} /;
/** Bytes of a chunk looked at to find the method token. */
const METHOD_PEEK_BYTES = 17;
/** Bytes searched for a Host header. */
const HOST_PEEK_BYTES = 4096;
/** A Host header value we are willing to echo back: a name or address, an optional port. */
const HOST_HEADER = /\r\nhost:[ \t]*([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?[ \t]*\r\n/i;

/** Whether a stream's first bytes look like an HTTP/1.x request line. */
export function looksLikeHttpRequest(chunk: Uint8Array): boolean {
  return HTTP_METHOD.test(Buffer.from(chunk.subarray(0, METHOD_PEEK_BYTES)).toString('latin1'));
}

/**
 * The complete HTTP/1.1 response for an HTTP request on a TURN port. The host named is the
 * request's Host header (port replaced), else the address the client connected to.
 */
export function httpRefusal(
  request: Uint8Array,
  localAddress: string | undefined,
  httpsPort: number | undefined,
): string {
  const head = Buffer.from(request.subarray(0, HOST_PEEK_BYTES)).toString('latin1');
  const named = HOST_HEADER.exec(head)?.[1];
  const address = localAddress ?? '127.0.0.1';
  const host = named ?? (address.includes(':') ? `[${address}]` : address);
  const body =
    httpsPort === undefined
      ? 'This is a STUN/TURN port (RFC 8656 over TCP); it does not serve HTTP.\n'
      : `This is a STUN/TURN port (RFC 8656 over TCP); use https://${host}:${httpsPort}/\n`;
  return [
    'HTTP/1.1 400 Bad Request',
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}
