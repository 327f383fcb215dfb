/**
 * The server name (SNI, RFC 6066 §3) and ALPN protocols (RFC 7301 §3.1) of a TLS ClientHello,
 * read from a connection's raw bytes before the handshake: the one-port listener uses them to
 * choose between Node's TLS server (HTTP clients offer `h2` or `http/1.1`) and the native TLS
 * terminator (TURN clients offer no ALPN or `stun.turn`), and the certificate. Only a ClientHello
 * that is one whole handshake message in the first record is read (RFC 8446 §4.1.2; TLS 1.2 has
 * the same layout); anything else is left to Node's TLS server, which handles every case.
 *
 * ```
 * record       type(1)=22 version(2) length(2) ─► handshake  type(1)=1 length(3) ─► ClientHello
 * ClientHello  legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *              compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 * extension    type(2) length(2) body
 * ```
 * @module
 */

/** What the listener needs of a TLS ClientHello. */
export interface ClientHelloInfo {
  /** The host_name of the server_name extension, lower-cased; undefined when absent. */
  readonly serverName: string | undefined;
  /** The ALPN protocol names offered, in order; empty when the extension is absent. */
  readonly alpn: readonly string[];
}

/** TLS record header: content type(1), legacy version(2), length(2) (RFC 8446 §5.1). */
const RECORD_HEADER_BYTES = 5;
const RECORD_LENGTH_OFFSET = 3;
/** The largest plaintext record (2^14 bytes). */
const MAX_RECORD_LENGTH = 16_384;
const CONTENT_TYPE_HANDSHAKE = 22;
/** Every SSL 3 / TLS record version is 3.x. */
const RECORD_VERSION_MAJOR = 3;
const HANDSHAKE_CLIENT_HELLO = 1;
/** Handshake messages carry a 3-byte length. */
const HANDSHAKE_LENGTH_BYTES = 3;
/** legacy_version(2) and random(32), skipped. */
const VERSION_AND_RANDOM_BYTES = 2 + 32;
const MAX_SESSION_ID_BYTES = 32;
/** Each cipher suite is 2 bytes; at least one is offered. */
const CIPHER_SUITE_BYTES = 2;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_ALPN = 16;
const NAME_TYPE_HOST_NAME = 0;
const MAX_HOST_NAME_BYTES = 255;
/** Printable ASCII without space: the characters accepted in a host name. */
const HOST_NAME_CHAR_MIN = 0x21;
const HOST_NAME_CHAR_MAX = 0x7e;
const MAX_UINT8 = 0xff;
const MAX_UINT16 = 0xffff;

/** The longest prefix readClientHello ever needs: one TLS record header plus 2^14 bytes. */
export const CLIENT_HELLO_MAX_BYTES = RECORD_HEADER_BYTES + MAX_RECORD_LENGTH;

/** Returned by the field readers for a malformed field (undefined means "absent" there). */
const MALFORMED = Symbol('malformed');

/** Bounds-checked reads over `bytes[start, end)`; a read past the end yields undefined. */
class Cursor {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  #pos: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Reads a big-endian unsigned integer of `size` bytes (at most 3). */
  uint(size: number): number | undefined {
    if (this.remaining < size) return undefined;
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + (this.#bytes[this.#pos + i] ?? 0);
    this.#pos += size;
    return value;
  }

  /** Skips `count` bytes; false when fewer remain. */
  skip(count: number): boolean {
    if (this.remaining < count) return false;
    this.#pos += count;
    return true;
  }

  /**
   * Reads a vector: a `lengthSize`-byte length within `min..max`, then that many bytes, returned
   * as a cursor over them; undefined when the length is out of range or overruns this cursor.
   */
  vector(lengthSize: number, min: number, max: number): Cursor | undefined {
    const length = this.uint(lengthSize);
    if (length === undefined || length < min || length > max || length > this.remaining) {
      return undefined;
    }
    const inner = new Cursor(this.#bytes, this.#pos, this.#pos + length);
    this.#pos += length;
    return inner;
  }

  /** The bytes not read yet, consumed. */
  rest(): Uint8Array {
    const rest = this.#bytes.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return rest;
  }
}

/**
 * The first record's length, once its header shows it; undefined as soon as a header byte seen
 * shows the bytes are not a TLS handshake record, so that non-TLS clients are not waited for.
 */
function recordLength(bytes: Uint8Array): number | 'incomplete' | undefined {
  const contentType = bytes[0];
  const versionMajor = bytes[1];
  if (contentType !== undefined && contentType !== CONTENT_TYPE_HANDSHAKE) return undefined;
  if (versionMajor !== undefined && versionMajor !== RECORD_VERSION_MAJOR) return undefined;
  if (bytes.length < RECORD_HEADER_BYTES) return 'incomplete';
  const length = new Cursor(bytes, RECORD_LENGTH_OFFSET, RECORD_HEADER_BYTES).uint(2) ?? 0;
  return length >= 1 && length <= MAX_RECORD_LENGTH ? length : undefined;
}

/** The host name of a host_name entry: 1..255 printable ASCII characters, lower-cased. */
function hostName(bytes: Uint8Array): string | typeof MALFORMED {
  if (bytes.length < 1 || bytes.length > MAX_HOST_NAME_BYTES) return MALFORMED;
  if (!bytes.every((b) => b >= HOST_NAME_CHAR_MIN && b <= HOST_NAME_CHAR_MAX)) return MALFORMED;
  return String.fromCharCode(...bytes).toLowerCase();
}

/** The server_name extension: the first host_name of its list; undefined when it has none. */
function readServerName(body: Cursor): string | undefined | typeof MALFORMED {
  const list = body.vector(2, 1, MAX_UINT16);
  if (list === undefined || body.remaining !== 0) return MALFORMED;
  let first: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.uint(1);
    const name = list.vector(2, 0, MAX_UINT16);
    if (nameType === undefined || name === undefined) return MALFORMED;
    if (nameType !== NAME_TYPE_HOST_NAME || first !== undefined) continue;
    const host = hostName(name.rest());
    if (host === MALFORMED) return MALFORMED;
    first = host;
  }
  return first;
}

/** The ALPN extension: its protocol names, each one byte or more, decoded as latin1. */
function readAlpn(body: Cursor): string[] | typeof MALFORMED {
  const list = body.vector(2, 2, MAX_UINT16);
  if (list === undefined || body.remaining !== 0) return MALFORMED;
  const names: string[] = [];
  while (list.remaining > 0) {
    const name = list.vector(1, 1, MAX_UINT8);
    if (name === undefined) return MALFORMED;
    names.push(String.fromCharCode(...name.rest()));
  }
  return names;
}

/** Walks the extensions block, rejecting any overrun and any extension type seen twice. */
function readExtensions(extensions: Cursor): ClientHelloInfo | undefined {
  const seen = new Set<number>();
  let serverName: string | undefined;
  let alpn: readonly string[] = [];
  while (extensions.remaining > 0) {
    const type = extensions.uint(2);
    const body = extensions.vector(2, 0, MAX_UINT16);
    if (type === undefined || body === undefined || seen.has(type)) return undefined;
    seen.add(type);
    if (type === EXTENSION_SERVER_NAME) {
      const name = readServerName(body);
      if (name === MALFORMED) return undefined;
      serverName = name;
    } else if (type === EXTENSION_ALPN) {
      const names = readAlpn(body);
      if (names === MALFORMED) return undefined;
      alpn = names;
    }
  }
  return { serverName, alpn };
}

/** Walks a ClientHello body up to its extensions, which are optional for very old clients. */
function readHelloBody(hello: Cursor): ClientHelloInfo | undefined {
  if (!hello.skip(VERSION_AND_RANDOM_BYTES)) return undefined;
  if (hello.vector(1, 0, MAX_SESSION_ID_BYTES) === undefined) return undefined;
  const suites = hello.vector(2, CIPHER_SUITE_BYTES, MAX_UINT16);
  if (suites === undefined || suites.remaining % CIPHER_SUITE_BYTES !== 0) return undefined;
  if (hello.vector(1, 1, MAX_UINT8) === undefined) return undefined;
  if (hello.remaining === 0) return { serverName: undefined, alpn: [] };
  const extensions = hello.vector(2, 0, MAX_UINT16);
  if (extensions === undefined || hello.remaining !== 0) return undefined;
  return readExtensions(extensions);
}

/**
 * Reads the ClientHello at the start of a TLS connection's bytes: its info; 'incomplete' when
 * more bytes are needed (fewer than the first record's length); undefined when the bytes are
 * not one whole ClientHello in the first record (not a handshake record, another message, a
 * ClientHello split over several records, a malformed field): the caller then lets Node's TLS
 * server handle the connection as before.
 */
export function readClientHello(bytes: Uint8Array): ClientHelloInfo | 'incomplete' | undefined {
  const length = recordLength(bytes);
  if (typeof length !== 'number') return length;
  if (bytes.length < RECORD_HEADER_BYTES + length) return 'incomplete';
  const record = new Cursor(bytes, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length);
  if (record.uint(1) !== HANDSHAKE_CLIENT_HELLO) return undefined;
  // A handshake length beyond the record: the ClientHello continues in the next record.
  const hello = record.vector(HANDSHAKE_LENGTH_BYTES, 0, MAX_RECORD_LENGTH);
  return hello === undefined ? undefined : readHelloBody(hello);
}
