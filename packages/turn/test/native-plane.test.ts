/**
 * TurnServer on the native data plane: the plane's own counters in the Prometheus registry, and
 * the calls that read the plane keep answering after close (skipped when the addon is not built).
 * @module
 */
import { loadDataPlane } from '@cloudproxy/dataplane';
import { describe, expect, it } from 'vitest';
import { createTurnMetrics } from '../src/node/metrics.js';
import { TurnServer } from '../src/node/turn-server.js';

const addon = loadDataPlane();

function nativeServer(): TurnServer {
  return new TurnServer({
    realm: 'example.org',
    auth: { users: { alice: 'wonderland' } },
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    noTcp: true,
    noTls: true,
    dataPlane: 'native',
    dataPlaneThreads: 1,
    minPort: 40000,
    maxPort: 60000,
  });
}

describe.skipIf(!addon)('TurnServer on the native data plane', () => {
  it('exports the plane counters to the registry, also after close', async () => {
    const server = nativeServer();
    await server.listen();
    expect(server.dataPlane).toBe('native');
    const registry = createTurnMetrics(server.core.stats, server.gauges);
    const text = await registry.metrics();
    expect(text).toContain('cloudproxy_turn_dataplane_packets_total{event="received"} 0');
    expect(text).toContain('cloudproxy_turn_dataplane_bytes_total{direction="to_peer"} 0');
    expect(text).toContain('cloudproxy_turn_dataplane_syscalls_total{call="recvmmsg"}');
    expect(text).toContain('cloudproxy_turn_dataplane_lingering_connections 0');
    expect(text).toMatch(/^cloudproxy_turn_dataplane_gso_datagrams_total \d+$/m);
    await server.close();
    expect(await registry.metrics()).toContain('cloudproxy_turn_dataplane_packets_total');
  });

  it('lists no allocations after close and after drain, instead of throwing', async () => {
    const closed = nativeServer();
    await closed.listen();
    await closed.close();
    expect(closed.listAllocations()).toEqual([]);
    const drained = nativeServer();
    await drained.listen();
    await drained.drain(0);
    expect(drained.listAllocations()).toEqual([]);
  });
});
