/**
 * A bounded WebSocket echo load: `connections` clients, each keeping `window` messages of
 * `bytes` bytes in flight, for `seconds`; counts the echoes that came back.
 * @module
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/**
 * @param {{ url: string, ca: string, connections: number, window: number, bytes: number,
 *   seconds: number, warmupS: number }} o
 * @returns {Promise<{ msgPerS: number, echoed: number, errors: number, p50Ms: number|undefined,
 *   p99Ms: number|undefined }>}
 */
export async function runWsLoad(o) {
  const payload = Buffer.alloc(o.bytes, 0x61);
  const sockets = await Promise.all(
    Array.from({ length: o.connections }, () => openSocket(o.url, o.ca)),
  );
  let counting = false;
  let echoed = 0;
  let errors = 0;
  const latencies = [];
  for (const ws of sockets) {
    const sentAt = [];
    ws.on('message', () => {
      const t = sentAt.shift();
      if (counting) {
        echoed++;
        if (t !== undefined && latencies.length < 200_000) latencies.push(performance.now() - t);
      }
      if (ws.readyState === WebSocket.OPEN) {
        sentAt.push(performance.now());
        ws.send(payload);
      }
    });
    ws.on('error', () => errors++);
    for (let i = 0; i < o.window; i++) {
      sentAt.push(performance.now());
      ws.send(payload);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, o.warmupS * 1000));
  counting = true;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, o.seconds * 1000));
  counting = false;
  const elapsedS = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  latencies.sort((a, b) => a - b);
  return {
    msgPerS: Math.round(echoed / elapsedS),
    echoed,
    errors,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)],
    p99Ms: latencies[Math.floor(latencies.length * 0.99)],
  };
}

function openSocket(url, ca) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url}: not open in 10 s`));
    }, 10_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url}: ${err.message}`));
    });
  });
}
