/**
 * `--prometheus --prometheus-port N`: metrics on http://127.0.0.1:N/metrics in the Prometheus
 * text format, and they move when traffic is relayed. Skipped for coturn only: Debian's coturn
 * is built without Prometheus support (its `turnserver -h` has no `--prometheus`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUclient, startEchoPeer, type EchoPeer } from '../helpers/coturn-tools.js';
import {
  startTurnServer,
  supportsPrometheus,
  turnImpl,
  type TurnServerHandle,
} from '../helpers/turn-server.js';

const USER = { name: 'metrics', password: 'metrics-password' };

let server: TurnServerHandle | undefined;
let peer: EchoPeer | undefined;

beforeAll(async () => {
  if (!supportsPrometheus()) return;
  peer = await startEchoPeer();
  server = await startTurnServer({ users: [USER], prometheus: true });
});

afterAll(async () => {
  await server?.stop();
  await peer?.stop();
});

async function scrape(port: number): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

/** Sum of all samples in a Prometheus text exposition (a crude "did anything move" measure). */
function sampleTotal(body: string): number {
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const value = Number(line.trim().split(/\s+/).at(-1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

describe.skipIf(!supportsPrometheus())(`Prometheus metrics (${turnImpl()})`, () => {
  it('serves the text format and counts relayed traffic', async () => {
    const s = server!;
    const before = await scrape(s.prometheusPort);
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/text\/plain|openmetrics/);
    expect(before.body).toMatch(/^# TYPE /m);

    const run = await runUclient({
      host: s.host,
      port: s.udpPort,
      transport: 'udp',
      peer: { host: peer!.host, port: peer!.port },
      clients: 2,
      messages: 20,
      user: USER,
    });
    expect(run.code, run.output).toBe(0);
    const after = await scrape(s.prometheusPort);
    expect(after.status).toBe(200);
    expect(sampleTotal(after.body)).toBeGreaterThan(sampleTotal(before.body));
  });
});
