/**
 * A test upstream for the signaling proxy: an HTTPS server on loopback with a certificate signed
 * by a throw-away test CA (made with the openssl CLI), plus a WebSocket echo server on the same
 * port. It records what it receives and offers routes for streaming, redirects and delays.
 *
 * Routes (any method):
 * - `/bytes/N`: N bytes of a fixed pattern, streamed in 64 KiB chunks with back-pressure;
 * - `/gated/N`: half of N bytes, then the rest after `releaseGate()`;
 * - `/sink`: reads the body, emitting `progress` (bytes so far), answers `{bytes, sha256}`;
 * - `/redirect?to=URL&status=302`: a redirect;
 * - `/slow?ms=N`: headers after N ms;
 * - `/close`: answers with `Connection: close`;
 * - `/status/N`: an empty answer with status N;
 * - anything else: JSON echo `{method, url, headers, bodyBytes, sha256, body}`.
 * WebSocket: echoes every message (text stays text); `close:CODE:REASON` makes it close with that
 * code; `/ws-refuse` refuses the handshake with 403.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';

/** A CA and a leaf certificate it signed, as PEM files in a temp dir. */
export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  cleanup(): void;
}

/** Names and addresses the leaf certificate covers. */
export const UPSTREAM_SANS =
  'DNS:localhost,DNS:upstream.test,DNS:*.upstream.test,IP:127.0.0.1,IP:::1';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Makes a test CA and a server certificate signed by it (`sans`, default {@link UPSTREAM_SANS}).
 * With `selfSigned`, the leaf is self-signed instead (a certificate no CA vouches for).
 */
export function makeTestPki(options: { sans?: string; selfSigned?: boolean } = {}): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'proxy-pki-'));
  try {
    const sans = options.sans ?? UPSTREAM_SANS;
    openssl(
      [
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '2',
        '-subj',
        '/CN=cloudproxy test CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    if (options.selfSigned === true) {
      openssl(
        [
          'req',
          '-x509',
          ...EC_KEY,
          '-keyout',
          'leaf.key',
          '-out',
          'leaf.pem',
          '-days',
          '2',
          '-subj',
          '/CN=upstream.test',
          '-addext',
          `subjectAltName=${sans}`,
        ],
        dir,
      );
    } else {
      writeFileSync(
        path.join(dir, 'leaf.ext'),
        `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`,
      );
      openssl(
        ['req', ...EC_KEY, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=upstream.test'],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          'leaf.csr',
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          'leaf.pem',
          '-days',
          '2',
          '-extfile',
          'leaf.ext',
        ],
        dir,
      );
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const read = (name: string): string => readFileSync(path.join(dir, name), 'utf8');
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    caPem: read('ca.pem'),
    certPem: read('leaf.pem'),
    keyPem: read('leaf.key'),
    certFile: path.join(dir, 'leaf.pem'),
    keyFile: path.join(dir, 'leaf.key'),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A request as the upstream saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly servername: string | undefined;
  /** The proxy's source port: equal ports mean a reused (kept-alive) connection. */
  readonly remotePort: number | undefined;
  bodyBytes: number;
}

/** A WebSocket handshake as the upstream saw it. */
export interface RecordedHandshake {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly protocol: string | undefined;
}

/** A running test upstream. */
export interface HttpsUpstream {
  readonly port: number;
  readonly pki: TestPki;
  readonly requests: RecordedRequest[];
  readonly handshakes: RecordedHandshake[];
  /** Close codes and reasons the WebSocket server received from its clients. */
  readonly wsCloses: { code: number; reason: string }[];
  /** Emits `progress` (bytes received so far on `/sink`) and `gated` (first half of `/gated` sent). */
  readonly events: EventEmitter;
  /** Lets every waiting `/gated/N` response send its second half. */
  releaseGate(): void;
  close(): Promise<void>;
}

const CHUNK_BYTES = 64 * 1024;

/** The byte pattern of `/bytes/N` and `/gated/N`: byte i is `i % 251`. */
export function patternBytes(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (offset + i) % 251;
  return out;
}

async function writePattern(res: ServerResponse, from: number, to: number): Promise<void> {
  for (let offset = from; offset < to; offset += CHUNK_BYTES) {
    const chunk = patternBytes(offset, Math.min(CHUNK_BYTES, to - offset));
    if (!res.write(chunk)) await once(res, 'drain');
  }
}

/** Starts the upstream on 127.0.0.1 (port 0) with a fresh test PKI (or the one given). */
export async function startHttpsUpstream(
  options: { pki?: TestPki; selfSigned?: boolean } = {},
): Promise<HttpsUpstream> {
  const pki = options.pki ?? makeTestPki({ selfSigned: options.selfSigned ?? false });
  const ownsPki = options.pki === undefined;
  const requests: RecordedRequest[] = [];
  const handshakes: RecordedHandshake[] = [];
  const wsCloses: { code: number; reason: string }[] = [];
  const events = new EventEmitter();
  let gateOpen = false;
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const servername = (req.socket as { servername?: string | false }).servername;
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      servername: typeof servername === 'string' ? servername : undefined,
      remotePort: req.socket.remotePort,
      bodyBytes: 0,
    };
    requests.push(record);
    void route(req, res, record).catch((error: unknown) => {
      res.destroy(error as Error);
    });
  });

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://upstream.test');
    const [, first, second] = url.pathname.split('/');
    if (first === 'bytes' || first === 'gated') {
      req.resume();
      const total = Number(second);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(total),
      });
      if (first === 'gated') {
        await writePattern(res, 0, total / 2);
        events.emit('gated');
        while (!gateOpen) await once(events, 'gate');
        await writePattern(res, total / 2, total);
      } else {
        await writePattern(res, 0, total);
      }
      res.end();
      return;
    }
    if (first === 'redirect') {
      req.resume();
      res.writeHead(Number(url.searchParams.get('status') ?? 302), {
        location: url.searchParams.get('to') ?? '/',
      });
      res.end();
      return;
    }
    if (first === 'slow') {
      req.resume();
      await new Promise((resolve) =>
        setTimeout(resolve, Number(url.searchParams.get('ms') ?? 1000)),
      );
      if (!res.destroyed) res.end('slow');
      return;
    }
    if (first === 'status') {
      req.resume();
      res.writeHead(Number(second)).end();
      return;
    }
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      record.bodyBytes += chunk.length;
      hash.update(chunk);
      if (record.bodyBytes <= CHUNK_BYTES) kept.push(chunk);
      if (first === 'sink') events.emit('progress', record.bodyBytes);
    }
    const sha256 = hash.digest('hex');
    if (first === 'sink') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ bytes: record.bodyBytes, sha256 }));
      return;
    }
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      bodyBytes: record.bodyBytes,
      sha256,
      body: record.bodyBytes <= CHUNK_BYTES ? Buffer.concat(kept).toString('utf8') : undefined,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': ['a=1; Secure', 'b=2; Secure'],
      'access-control-allow-origin': 'https://upstream-says.example',
      'x-upstream': 'yes',
      ...(first === 'close' ? { connection: 'close' } : {}),
    });
    res.end(body);
  }

  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
    verifyClient: (info, callback) => {
      if (info.req.url?.startsWith('/ws-refuse') === true)
        callback(false, 403, 'refused by upstream');
      else callback(true);
    },
  });
  wss.on('connection', (ws, req) => {
    handshakes.push({
      url: req.url ?? '',
      headers: req.headers,
      protocol: ws.protocol || undefined,
    });
    ws.on('close', (code, reason) => {
      wsCloses.push({ code, reason: reason.toString('utf8') });
      events.emit('ws-close');
    });
    ws.on('message', (data: Buffer, isBinary) => {
      const text = isBinary ? undefined : data.toString('utf8');
      const match = text === undefined ? null : /^close:(\d+):(.*)$/.exec(text);
      if (match !== null) {
        ws.close(Number(match[1]), match[2]);
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('upstream did not bind');
  return {
    port: address.port,
    pki,
    requests,
    handshakes,
    wsCloses,
    events,
    releaseGate: () => {
      gateOpen = true;
      events.emit('gate');
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (ownsPki) pki.cleanup();
    },
  };
}
