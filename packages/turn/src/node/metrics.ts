/**
 * Prometheus metrics of the TURN server, read from the core's counters at scrape time (nothing
 * is done per packet for metrics). No per-user labels: cardinality stays bounded.
 * @module
 */
import http from 'node:http';
import client from 'prom-client';
import type { DataPlaneStats } from '@cloudproxy/dataplane';
import type { TurnStats } from '../stats.js';
import { TRANSPORTS } from '../types.js';

/** Live numbers the driver owns (connections, sockets). */
export interface DriverGauges {
  tcpConnections(): number;
  relaySockets(): number;
  droppedByDriver(): ReadonlyMap<string, number>;
  /** The native data plane's counters, read in one call; undefined on the js plane. */
  dataPlane?: () => DataPlaneStats | undefined;
}

function counter(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new client.Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => {
        this.inc(labels, value);
      });
    },
  });
}

function gauge(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => {
        this.set(labels, value);
      });
    },
  });
}

/** Creates a registry with the TURN metrics (prefix `cloudproxy_turn_`) and process metrics. */
export function createTurnMetrics(stats: TurnStats, driver: DriverGauges): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'cloudproxy_' });
  const perTransport =
    (values: readonly number[]) => (set: (l: Record<string, string>, v: number) => void) => {
      TRANSPORTS.forEach((transport, i) => {
        set({ transport }, values[i] ?? 0);
      });
    };
  gauge(
    registry,
    'cloudproxy_turn_allocations',
    'Live allocations.',
    ['transport'],
    perTransport(stats.allocationsActive),
  );
  counter(
    registry,
    'cloudproxy_turn_allocations_total',
    'Allocations created.',
    ['transport'],
    perTransport(stats.allocationsTotal),
  );
  counter(
    registry,
    'cloudproxy_turn_relayed_bytes_total',
    'Payload bytes relayed.',
    ['transport', 'direction'],
    (set) => {
      TRANSPORTS.forEach((transport, i) => {
        set({ transport, direction: 'to_peer' }, stats.bytesToPeer[i] ?? 0);
        set({ transport, direction: 'to_client' }, stats.bytesToClient[i] ?? 0);
      });
    },
  );
  counter(
    registry,
    'cloudproxy_turn_relayed_packets_total',
    'Packets relayed.',
    ['transport', 'direction'],
    (set) => {
      TRANSPORTS.forEach((transport, i) => {
        set({ transport, direction: 'to_peer' }, stats.packetsToPeer[i] ?? 0);
        set({ transport, direction: 'to_client' }, stats.packetsToClient[i] ?? 0);
      });
    },
  );
  counter(
    registry,
    'cloudproxy_turn_auth_failures_total',
    'Requests with wrong or unknown credentials.',
    [],
    (set) => {
      set({}, stats.authFailures);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_error_responses_total',
    'Error responses sent, by STUN error code.',
    ['code'],
    (set) => {
      for (const [code, n] of stats.errorResponses) set({ code: String(code) }, n);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_dropped_packets_total',
    'Packets dropped without an answer, by reason (malformed, no-permission, ...).',
    ['reason'],
    (set) => {
      for (const [reason, n] of stats.ignored) set({ reason }, n);
      for (const [reason, n] of driver.droppedByDriver()) set({ reason }, n);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_binding_requests_total',
    'STUN Binding requests answered.',
    [],
    (set) => {
      set({}, stats.bindingRequests);
    },
  );
  gauge(
    registry,
    'cloudproxy_turn_tcp_connections',
    'Open TCP and TLS client connections.',
    [],
    (set) => {
      set({}, driver.tcpConnections());
    },
  );
  gauge(registry, 'cloudproxy_turn_relay_sockets', 'Open relay sockets.', [], (set) => {
    set({}, driver.relaySockets());
  });
  if (driver.dataPlane) dataPlaneMetrics(registry, driver.dataPlane);
  return registry;
}

/**
 * The native data plane's own counters (`cloudproxy_turn_dataplane_*`), all read with one
 * `stats()` call per metric at scrape time; absent values (js plane) export nothing.
 */
function dataPlaneMetrics(registry: client.Registry, read: () => DataPlaneStats | undefined): void {
  counter(
    registry,
    'cloudproxy_turn_dataplane_packets_total',
    "Datagrams (and TCP clients' frames) seen by the native data plane: received, relayed in C (to_peer, to_client), passed up to JavaScript, dropped.",
    ['event'],
    (set) => {
      const s = read();
      if (!s) return;
      set({ event: 'received' }, s.receivedPackets);
      set({ event: 'to_peer' }, s.toPeerPackets);
      set({ event: 'to_client' }, s.toClientPackets);
      set({ event: 'passed_up' }, s.passedUpPackets);
      set({ event: 'passed_up_dropped' }, s.passedUpDropped);
      set({ event: 'send_error' }, s.sendErrors);
      set({ event: 'truncated' }, s.truncated);
      set({ event: 'stream_dropped' }, s.streamDropped);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_dataplane_streams_total',
    'TCP client connections handed over to the native data plane.',
    [],
    (set) => {
      const s = read();
      if (s) set({}, s.streamsAdopted);
    },
  );
  gauge(
    registry,
    'cloudproxy_turn_dataplane_lingering_connections',
    'TCP and TLS client connections in their lingering close: last bytes still going out, or the client not done sending.',
    [],
    (set) => {
      const s = read();
      if (s) set({}, s.lingering);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_dataplane_bytes_total',
    'Payload bytes relayed in C by the native data plane.',
    ['direction'],
    (set) => {
      const s = read();
      if (!s) return;
      set({ direction: 'to_peer' }, s.toPeerBytes);
      set({ direction: 'to_client' }, s.toClientBytes);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_dataplane_syscalls_total',
    'recvmmsg and sendmmsg calls of the native data plane.',
    ['call'],
    (set) => {
      const s = read();
      if (!s) return;
      set({ call: 'recvmmsg' }, s.recvCalls);
      set({ call: 'sendmmsg' }, s.sendCalls);
    },
  );
  counter(
    registry,
    'cloudproxy_turn_dataplane_gso_datagrams_total',
    'Datagrams the native data plane sent in segmented sends (UDP GSO: runs of equal-size datagrams to one address).',
    [],
    (set) => {
      const s = read();
      if (s) set({}, s.gsoDatagrams);
    },
  );
}

/** Serves `GET /metrics` from `registry` on `address:port`. */
export function serveMetrics(
  registry: client.Registry,
  address: string,
  port: number,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  server.requestTimeout = 10_000;
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
