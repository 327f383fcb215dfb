/**
 * Test harness of the control plane: a control plane on a loopback HTTP server, a fetch-based
 * caller, store fixtures (SQLite temp file, PostgreSQL database on a real server) and a fake
 * RelayNode that drives the hooks like the TURN relay does.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createControlPlane } from '../src/index.js';
import type {
  AllocationRequestInfo,
  AllocationSnapshot,
  ControlPlane,
  ControlPlaneOptions,
  RelayHooks,
  RelayNode,
  RelayTransport,
  StoreOptions,
} from '../src/index.js';
import { startPostgres } from '../../../test/helpers/postgres.js';
import type { PostgresServer } from '../../../test/helpers/postgres.js';

/** The admin token of every test control plane. */
export const ADMIN = 'test-admin-token-0123456789abcdef';

/** A node description for tests. */
export const NODE: ControlPlaneOptions['node'] = {
  region: 'eu-west',
  publicHost: 'relay.example.com',
  relayAddresses: ['203.0.113.7'],
  udpPort: 3478,
  tcpPort: 3478,
  tlsPort: 5349,
  relayPortRange: { min: 49152, max: 65535 },
};

/** An answer as the tests inspect it. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A running control plane with an HTTP server in front. */
export interface Harness {
  readonly cp: ControlPlane;
  readonly url: string;
  call(
    method: string,
    pathname: string,
    options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  close(): Promise<void>;
}

/** Starts a control plane on 127.0.0.1:0. */
export async function startHarness(
  options: Partial<ControlPlaneOptions> & { store: StoreOptions },
): Promise<Harness> {
  const cp = await createControlPlane({
    adminToken: ADMIN,
    node: NODE,
    rateLimit: { perMinute: 100_000 },
    ...options,
  });
  const server = http.createServer((req, res) => {
    if (!cp.handle(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not the control plane');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    cp,
    url,
    async call(method, pathname, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + pathname, { method, headers, body: body ?? null });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cp.close();
    },
  };
}

/** A store fixture: SQLite in a temp dir, or a fresh database on a shared PostgreSQL server. */
export interface StoreFixture {
  readonly kind: 'sqlite' | 'postgres';
  /** A new, empty store. */
  fresh(): Promise<StoreOptions>;
  cleanup(): Promise<void>;
}

let pgServer: Promise<PostgresServer> | undefined;
let dbCounter = 0;

/** The fixture of a store kind. */
export function storeFixture(kind: 'sqlite' | 'postgres'): StoreFixture {
  const dirs: string[] = [];
  return {
    kind,
    async fresh() {
      if (kind === 'sqlite') {
        const dir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-control-'));
        dirs.push(dir);
        return { kind, file: path.join(dir, 'cloudproxy.db') };
      }
      pgServer ??= startPostgres();
      const server = await pgServer;
      dbCounter += 1;
      return { kind, url: await server.createDatabase(`t${process.pid}_${dbCounter}`) };
    },
    async cleanup() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      if (kind === 'postgres' && pgServer) {
        const server = await pgServer;
        pgServer = undefined;
        await server.stop();
      }
    },
  };
}

interface FakeAllocation {
  request: AllocationRequestInfo;
  bytesFromClient: number;
  bytesToClient: number;
  createdAtMs: number;
}

/** FakeRelay drives the hooks the way the TURN relay does, without sockets. */
export class FakeRelay implements RelayNode {
  hooks: RelayHooks = {};
  readonly #allocations = new Map<string, FakeAllocation>();
  #nextPort = 40000;
  now = (): number => Date.now();

  setHooks(hooks: RelayHooks): void {
    this.hooks = hooks;
  }

  /** An authenticated Allocate: the admission decision, and the allocation's key when admitted. */
  allocate(
    username: string,
    transport: RelayTransport = 'udp',
  ): { allow: boolean; code?: number; reason?: string; maxBps?: number | undefined; key?: string } {
    const request = {
      username,
      transport,
      clientAddress: '198.51.100.1',
      clientPort: this.#nextPort++,
    };
    const decision = this.hooks.admit?.(request) ?? { allow: true };
    if (!decision.allow) return { allow: false, code: decision.code, reason: decision.reason };
    const key = `${request.clientAddress}:${request.clientPort}`;
    this.#allocations.set(key, {
      request,
      bytesFromClient: 0,
      bytesToClient: 0,
      createdAtMs: this.now(),
    });
    return { allow: true, maxBps: decision.maxBps, key };
  }

  /** Relays bytes on an allocation. */
  relay(key: string, fromClient: number, toClient: number): void {
    const a = this.#allocations.get(key);
    if (!a) throw new Error(`no allocation ${key}`);
    a.bytesFromClient += fromClient;
    a.bytesToClient += toClient;
  }

  /** Ends an allocation (Refresh 0, expiry, …). */
  end(key: string): void {
    const a = this.#allocations.get(key);
    if (!a) throw new Error(`no allocation ${key}`);
    this.#allocations.delete(key);
    this.hooks.release?.(a.request, {
      bytesFromClient: a.bytesFromClient,
      bytesToClient: a.bytesToClient,
      durationMs: this.now() - a.createdAtMs,
    });
  }

  get size(): number {
    return this.#allocations.size;
  }

  listAllocations(): AllocationSnapshot[] {
    return [...this.#allocations.values()].map((a) => ({
      username: a.request.username,
      transport: a.request.transport,
      clientAddress: a.request.clientAddress,
      clientPort: a.request.clientPort,
      relayed: [{ address: '203.0.113.7', port: 50000 }],
      createdAtMs: a.createdAtMs,
      expiresAtMs: a.createdAtMs + 600_000,
      bytesFromClient: a.bytesFromClient,
      bytesToClient: a.bytesToClient,
      permissions: 1,
      channels: 1,
    }));
  }

  revokeAllocations(match: (username: string) => boolean): number {
    let ended = 0;
    for (const [key, a] of [...this.#allocations]) {
      if (!match(a.request.username)) continue;
      this.end(key);
      ended += 1;
    }
    return ended;
  }
}
