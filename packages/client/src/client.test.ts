import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientEventMap } from './client-events.js';
import { createClient, type CloudProxyClient } from './client.js';
import type { IssuedCredentials } from './credentials.js';
import { CloudProxyError } from './errors.js';
import type { ClientOptions } from './options.js';

/** A scriptable stand-in for RTCPeerConnection: states are set by the test. */
class FakePeerConnection extends EventTarget {
  static last: FakePeerConnection | undefined;
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  configuration: RTCConfiguration;
  readonly setConfigurations: RTCConfiguration[] = [];
  restarts = 0;
  local: Record<string, unknown> = { candidateType: 'relay', relayProtocol: 'udp' };

  constructor(configuration: RTCConfiguration = {}) {
    super();
    this.configuration = configuration;
    FakePeerConnection.last = this;
  }
  getConfiguration(): RTCConfiguration {
    return this.configuration;
  }
  setConfiguration(configuration: RTCConfiguration): void {
    this.configuration = configuration;
    this.setConfigurations.push(configuration);
  }
  restartIce(): void {
    this.restarts++;
  }
  getStats(): Promise<Map<string, Record<string, unknown>>> {
    return Promise.resolve(
      new Map<string, Record<string, unknown>>([
        ['T', { type: 'transport', selectedCandidatePairId: 'P' }],
        ['P', { type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
        ['L', { type: 'local-candidate', ...this.local }],
      ]),
    );
  }
  close(): void {
    this.connectionState = 'closed';
    this.signalingState = 'closed';
  }
  set(connection: RTCPeerConnectionState, ice: RTCIceConnectionState): void {
    this.connectionState = connection;
    this.iceConnectionState = ice;
    this.dispatchEvent(new Event('iceconnectionstatechange'));
    this.dispatchEvent(new Event('connectionstatechange'));
  }
}

const AUTO_SERVERS = [
  { urls: ['stun:relay.example.com:3478'] },
  {
    urls: [
      'turn:relay.example.com:3478?transport=udp',
      'turns:relay.example.com:443?transport=tcp',
    ],
    username: 'user-1',
    credential: 'pw-1',
  },
];

function collect(client: CloudProxyClient): { [K in keyof ClientEventMap]: ClientEventMap[K][] } {
  const events = {
    'is-using-cloud-proxy': [] as boolean[],
    'proxy-connected': [] as ClientEventMap['proxy-connected'][],
    fallback: [] as ClientEventMap['fallback'][],
    'credentials-refreshed': [] as ClientEventMap['credentials-refreshed'][],
    reconnecting: [] as ClientEventMap['reconnecting'][],
    reconnected: [] as ClientEventMap['reconnected'][],
    error: [] as CloudProxyError[],
  };
  client.on('is-using-cloud-proxy', (v) => events['is-using-cloud-proxy'].push(v));
  client.on('proxy-connected', (e) => events['proxy-connected'].push(e));
  client.on('fallback', (e) => events.fallback.push(e));
  client.on('credentials-refreshed', (e) => events['credentials-refreshed'].push(e));
  client.on('reconnecting', (e) => events.reconnecting.push(e));
  client.on('reconnected', (e) => events.reconnected.push(e));
  client.on('error', (e) => events.error.push(e));
  return events;
}

function makeClient(options: ClientOptions = {}): CloudProxyClient {
  return createClient({
    RTCPeerConnection: FakePeerConnection as unknown as new (
      c?: RTCConfiguration,
    ) => RTCPeerConnection,
    ...options,
  });
}

async function fakePc(client: CloudProxyClient): Promise<FakePeerConnection> {
  await client.createPeerConnection();
  return FakePeerConnection.last!;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CloudProxyClient configuration', () => {
  it('with fixed TURN servers: relay only, exactly those servers', async () => {
    const client = makeClient({
      networkConfiguration: {
        turn: {
          iceServers: [{ urls: 'turn:203.0.113.7?transport=tcp', username: 'u', credential: 'p' }],
        },
      },
    });
    expect(await client.getRtcConfiguration()).toEqual({
      iceTransportPolicy: 'relay',
      iceServers: [
        { urls: ['turn:203.0.113.7:3478?transport=tcp'], username: 'u', credential: 'p' },
      ],
    });
    const pc = await fakePc(client);
    expect(pc.configuration.iceTransportPolicy).toBe('relay');
  });

  it('without TURN servers or a mode: the extra configuration only', async () => {
    const client = makeClient();
    expect(await client.getRtcConfiguration({ extra: { bundlePolicy: 'max-bundle' } })).toEqual({
      bundlePolicy: 'max-bundle',
    });
  });

  it('asks the credentials source with the mode and builds the per-mode configuration', async () => {
    const modes: string[] = [];
    const client = makeClient({
      credentials: (mode) => {
        modes.push(mode);
        return { iceServers: AUTO_SERVERS };
      },
    });
    client.startProxyServer(3);
    expect((await client.getRtcConfiguration()).iceServers).toEqual([
      {
        urls: ['turn:relay.example.com:3478?transport=udp'],
        username: 'user-1',
        credential: 'pw-1',
      },
    ]);
    client.startProxyServer('force-tcp');
    expect((await client.getRtcConfiguration()).iceServers?.[0]?.urls).toEqual([
      'turns:relay.example.com:443?transport=tcp',
    ]);
    client.startProxyServer(0);
    expect((await client.getRtcConfiguration()).iceTransportPolicy).toBe('all');
    expect((await client.getRtcConfiguration({ phase: 'relay' })).iceTransportPolicy).toBe('relay');
    client.stopProxyServer();
    expect(client.mode).toBeUndefined();
    expect(modes).toEqual(['force-udp', 'force-tcp', 'auto', 'auto']);
  });

  it('refuses a mode without any credentials source', async () => {
    const client = makeClient();
    client.startProxyServer('force-udp');
    await expect(client.getRtcConfiguration()).rejects.toMatchObject({
      code: 'CREDENTIALS_FAILED',
    });
  });

  it('throws UNSUPPORTED without an RTCPeerConnection implementation', async () => {
    const client = createClient();
    await expect(client.createPeerConnection()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('refuses use after close with CLOSED', async () => {
    const client = makeClient();
    await client.close();
    await client.close();
    await expect(client.getRtcConfiguration()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => client.startProxyServer('auto')).toThrow(CloudProxyError);
  });
});

describe('mode changes while connected', () => {
  it('startProxyServer and stopProxyServer throw ALREADY_CONNECTED while a connection is open', async () => {
    const client = makeClient({ credentials: () => ({ iceServers: AUTO_SERVERS }) });
    client.startProxyServer('force-udp');
    const pc = await fakePc(client);
    expect(client.connectionState).toBe('connecting');
    expect(() => client.startProxyServer('force-tcp')).toThrow(
      /ALREADY_CONNECTED|not allowed while connecting/,
    );
    pc.set('connected', 'connected');
    expect(client.connectionState).toBe('connected');
    let error: unknown;
    try {
      client.stopProxyServer();
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ALREADY_CONNECTED' });
    expect(client.mode).toBe('force-udp');
    pc.close();
    expect(client.connectionState).toBe('disconnected');
    client.startProxyServer('force-tcp');
    expect(client.mode).toBe('force-tcp');
  });
});

describe('connection events', () => {
  it('reports is-using-cloud-proxy and proxy-connected from the selected pair', async () => {
    const client = makeClient({ credentials: () => ({ iceServers: AUTO_SERVERS }) });
    const events = collect(client);
    client.startProxyServer('force-udp');
    const pc = await fakePc(client);
    pc.set('connecting', 'checking');
    await vi.advanceTimersByTimeAsync(1500);
    pc.set('connected', 'connected');
    await vi.advanceTimersByTimeAsync(0);
    expect(events['is-using-cloud-proxy']).toEqual([true]);
    expect(events['proxy-connected']).toHaveLength(1);
    expect(events['proxy-connected'][0]).toMatchObject({
      mode: 'force-udp',
      transport: 'udp',
      elapsedMs: 1500,
    });
  });

  it('reports false and no proxy-connected for a direct path', async () => {
    const client = makeClient();
    const events = collect(client);
    const pc = await fakePc(client);
    pc.local = { candidateType: 'host' };
    pc.set('connected', 'connected');
    await vi.advanceTimersByTimeAsync(0);
    expect(events['is-using-cloud-proxy']).toEqual([false]);
    expect(events['proxy-connected']).toEqual([]);
  });
});

describe('auto fallback', () => {
  async function autoClient(): Promise<{
    client: CloudProxyClient;
    pc: FakePeerConnection;
    events: ReturnType<typeof collect>;
  }> {
    const client = makeClient({
      credentials: () => ({ iceServers: AUTO_SERVERS, expiresAt: Date.now() + 3_600_000 }),
      autoFallback: { directTimeoutMs: 4000, relayTimeoutMs: 10_000 },
    });
    const events = collect(client);
    client.startProxyServer('auto');
    const pc = await fakePc(client);
    return { client, pc, events };
  }

  it('starts direct: STUN only, policy all, no relay', async () => {
    const { pc } = await autoClient();
    expect(pc.configuration.iceTransportPolicy).toBe('all');
    expect(pc.configuration.iceServers).toEqual([{ urls: ['stun:relay.example.com:3478'] }]);
  });

  it('switches to relay-only TLS and restarts ICE when direct does not connect in time', async () => {
    const { pc, events } = await autoClient();
    pc.set('connecting', 'checking');
    await vi.advanceTimersByTimeAsync(3999);
    expect(events.fallback).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.fallback).toEqual([
      { from: 'direct', to: 'relay', reason: 'timeout', elapsedMs: 4000, peerConnection: pc },
    ]);
    expect(pc.setConfigurations).toEqual([
      {
        iceTransportPolicy: 'relay',
        iceServers: [
          {
            urls: ['turns:relay.example.com:443?transport=tcp'],
            username: 'user-1',
            credential: 'pw-1',
          },
        ],
      },
    ]);
    expect(pc.restarts).toBe(1);
    pc.local = { candidateType: 'relay', relayProtocol: 'tls' };
    pc.set('connected', 'connected');
    await vi.advanceTimersByTimeAsync(0);
    expect(events['is-using-cloud-proxy']).toEqual([true]);
    expect(events['proxy-connected'][0]).toMatchObject({ mode: 'auto', transport: 'tls' });
    // Connected through the relay: the relay deadline is off.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events.error).toEqual([]);
  });

  it('switches at once when ICE fails, gives up after the relay timeout, and never loops', async () => {
    const { pc, events } = await autoClient();
    pc.set('connecting', 'checking');
    await vi.advanceTimersByTimeAsync(1000);
    pc.set('failed', 'failed');
    await vi.advanceTimersByTimeAsync(0);
    expect(events.fallback).toMatchObject([{ reason: 'ice-failed', elapsedMs: 1000 }]);
    pc.set('connecting', 'checking');
    pc.set('failed', 'failed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events.error).toHaveLength(1);
    expect(events.error[0]?.code).toBe('CONNECTION_FAILED');
    expect(events.error[0]?.message).toMatch(/no further fallback/);
    pc.set('failed', 'failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events.fallback).toHaveLength(1);
    expect(pc.setConfigurations).toHaveLength(1);
    expect(pc.restarts).toBe(1);
  });

  it('does not fall back once direct connected in time', async () => {
    const { pc, events } = await autoClient();
    pc.local = { candidateType: 'srflx' };
    pc.set('connecting', 'checking');
    await vi.advanceTimersByTimeAsync(2000);
    pc.set('connected', 'connected');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events.fallback).toEqual([]);
    expect(events['is-using-cloud-proxy']).toEqual([false]);
  });
});

describe('credential refresh', () => {
  function refreshingClient(
    ttlMs: number,
    fail?: () => boolean,
  ): {
    client: CloudProxyClient;
    calls: number[];
    events: ReturnType<typeof collect>;
  } {
    const calls: number[] = [];
    const client = makeClient({
      credentials: (): IssuedCredentials => {
        calls.push(Date.now());
        if (fail?.()) throw new Error('control plane down');
        const n = calls.length;
        return {
          iceServers: [
            {
              urls: 'turn:relay.example.com?transport=udp',
              username: `u${n}`,
              credential: `p${n}`,
            },
          ],
          expiresAt: Date.now() + ttlMs,
        };
      },
    });
    client.startProxyServer('force-udp');
    return { client, calls, events: collect(client) };
  }

  it('refreshes at 80% of the lifetime with setConfiguration and restartIce, then again', async () => {
    const { client, calls, events } = refreshingClient(10_000);
    const pc = await fakePc(client);
    pc.set('connected', 'connected');
    await vi.advanceTimersByTimeAsync(7999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    expect(pc.setConfigurations).toHaveLength(1);
    expect(pc.setConfigurations[0]?.iceServers).toEqual([
      { urls: ['turn:relay.example.com:3478?transport=udp'], username: 'u2', credential: 'p2' },
    ]);
    expect(pc.setConfigurations[0]?.iceTransportPolicy).toBe('relay');
    expect(pc.restarts).toBe(1);
    expect(events['credentials-refreshed']).toMatchObject([
      { iceRestarted: true, expiresAtMs: Date.now() + 10_000 },
    ]);
    await vi.advanceTimersByTimeAsync(8000);
    expect(calls).toHaveLength(3);
    expect(pc.setConfigurations).toHaveLength(2);
  });

  it('does not restart ICE when restartIceOnRefresh is false', async () => {
    const client = makeClient({
      restartIceOnRefresh: false,
      credentials: () => ({ iceServers: AUTO_SERVERS, expiresAt: Date.now() + 5000 }),
      mode: 'force-tcp',
    });
    const pc = await fakePc(client);
    await vi.advanceTimersByTimeAsync(4000);
    expect(pc.setConfigurations).toHaveLength(1);
    expect(pc.restarts).toBe(0);
  });

  it('reports a failed refresh and retries a bounded number of times', async () => {
    let failing = false;
    const { client, calls, events } = refreshingClient(10_000, () => failing);
    const pc = await fakePc(client);
    failing = true;
    await vi.advanceTimersByTimeAsync(8000);
    expect(events.error).toHaveLength(1);
    expect(events.error[0]?.code).toBe('CREDENTIALS_FAILED');
    await vi.advanceTimersByTimeAsync(120_000);
    // 1 initial + 1 scheduled + 4 retries, then it stops.
    expect(calls).toHaveLength(6);
    expect(events.error).toHaveLength(5);
    expect(pc.setConfigurations).toHaveLength(0);
  });

  it('recovers when a retry succeeds', async () => {
    let failures = 1;
    const { client, calls, events } = refreshingClient(
      10_000,
      () => calls.length > 1 && failures-- > 0,
    );
    const pc = await fakePc(client);
    await vi.advanceTimersByTimeAsync(8000 + 1000);
    expect(events.error).toHaveLength(1);
    expect(pc.setConfigurations).toHaveLength(1);
    expect(events['credentials-refreshed']).toHaveLength(1);
  });

  it('stops refreshing when the connection closes or the client closes', async () => {
    const { client, calls } = refreshingClient(10_000);
    const pc = await fakePc(client);
    pc.close();
    pc.dispatchEvent(new Event('connectionstatechange'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    await fakePc(client);
    await client.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(2);
  });

  it('never refreshes fixed servers', async () => {
    const client = makeClient({
      networkConfiguration: {
        turn: { iceServers: [{ urls: 'turn:203.0.113.7', username: 'u', credential: 'p' }] },
      },
      mode: 'force-udp',
    });
    const pc = await fakePc(client);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(pc.setConfigurations).toHaveLength(0);
  });
});

describe('reconnection after ICE is lost', () => {
  function relayClient(options: ClientOptions = {}): {
    client: CloudProxyClient;
    calls: number;
    events: ReturnType<typeof collect>;
  } {
    const state = { client: undefined as unknown as CloudProxyClient, calls: 0 };
    state.client = makeClient({
      credentials: (): IssuedCredentials => {
        state.calls++;
        return {
          iceServers: [
            {
              urls: 'turn:relay.example.com?transport=udp',
              username: `u${state.calls}`,
              credential: 'p',
            },
          ],
          expiresAt: Date.now() + 3_600_000,
        };
      },
      ...options,
    });
    state.client.startProxyServer('force-udp');
    return {
      client: state.client,
      get calls() {
        return state.calls;
      },
      events: collect(state.client),
    };
  }

  it('waits out a short disconnection, then restarts ICE with fresh credentials', async () => {
    const r = relayClient();
    const pc = await fakePc(r.client);
    pc.set('connected', 'connected');
    pc.set('disconnected', 'disconnected');
    await vi.advanceTimersByTimeAsync(4999);
    expect(pc.restarts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.events.reconnecting.map((e) => [e.attempt, e.reason])).toEqual([
      [1, 'ice-disconnected'],
    ]);
    expect(r.calls).toBe(2);
    expect(pc.restarts).toBe(1);
    expect(pc.setConfigurations.at(-1)?.iceServers?.[0]?.username).toBe('u2');
    pc.set('connected', 'connected');
    expect(r.events.reconnected.map((e) => [e.attempts, e.elapsedMs])).toEqual([[1, 5000]]);
    expect(r.events.error).toEqual([]);
  });

  it('restarts at once on failed and gives up with CONNECTION_FAILED after the last attempt', async () => {
    const r = relayClient({ reconnect: { attemptTimeoutMs: 1000, retryDelaysMs: [500] } });
    const pc = await fakePc(r.client);
    pc.set('connected', 'connected');
    pc.set('failed', 'failed');
    await vi.advanceTimersByTimeAsync(0);
    expect(pc.restarts).toBe(1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(pc.restarts).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.events.reconnecting.map((e) => e.attempt)).toEqual([1, 2]);
    expect(r.events.error.map((e) => e.code)).toEqual(['CONNECTION_FAILED']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pc.restarts).toBe(2);
  });

  it('does nothing with reconnect: false or before the first connection', async () => {
    const off = relayClient({ reconnect: false });
    const pcOff = await fakePc(off.client);
    pcOff.set('connected', 'connected');
    pcOff.set('failed', 'failed');
    const never = relayClient();
    const pcNever = await fakePc(never.client);
    pcNever.set('failed', 'failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pcOff.restarts + pcNever.restarts).toBe(0);
    expect([...off.events.reconnecting, ...never.events.reconnecting]).toEqual([]);
  });
});
