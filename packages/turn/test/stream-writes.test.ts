/**
 * What a TURN stream client is sent in one tick leaves in one stream write (one TLS record over
 * TLS), in order and intact: the native plane hands up a batch of peer datagrams at a time
 * (stream-connections.ts). Real loopback TCP sockets.
 */
import net from 'node:net';
import { StreamFramer } from '@cloudproxy/stun';
import { afterEach, expect, it } from 'vitest';
import type { TurnServerCore } from '../src/server-core.js';
import { StreamConnections } from '../src/node/stream-connections.js';

const sockets: net.Socket[] = [];
let listener: net.Server | undefined;

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  listener?.close();
  listener = undefined;
});

/** A connected pair: the server side (as the TURN listener accepts it) and the client side. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const server = new Promise<net.Socket>((resolve) => {
    listener = net.createServer({ pauseOnConnect: true }, resolve);
  });
  await new Promise<void>((resolve) => listener!.listen(0, '127.0.0.1', resolve));
  const { port } = listener!.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  const pair = { server: await server, client };
  sockets.push(pair.server, pair.client);
  return pair;
}

it('sends the frames of one tick in one write, in order', async () => {
  const { server, client } = await socketPair();
  // Sending needs no core; closing asks it for the actions of a closed client.
  const core = { handleClientClosed: () => [] } as unknown as TurnServerCore;
  const connections = new StreamConnections({
    id: 0,
    core,
    run: () => undefined,
    idleTimeoutMs: 10_000,
    onDropped: () => undefined,
  });
  const ref = connections.accept(server, 'tcp');
  const calls: number[] = [];
  const writev = server._writev!.bind(server);
  const write = server._write.bind(server);
  server._writev = (chunks, callback) => {
    calls.push(chunks.length);
    writev(chunks, callback);
  };
  server._write = (chunk, encoding, callback) => {
    calls.push(1);
    write(chunk, encoding, callback);
  };

  const received: Uint8Array[] = [];
  const framer = new StreamFramer((frame) => received.push(Uint8Array.from(frame)));
  client.on('data', (chunk: Buffer) => {
    framer.push(chunk);
  });
  const stun = new Uint8Array(20);
  stun.set([0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]);
  ref.sink.sendChannelData(0x4000, Uint8Array.of(1, 2, 3));
  ref.sink.sendChannelData(0x4001, Uint8Array.of(4, 5, 6, 7));
  ref.sink.send(stun);
  ref.sink.sendChannelData(0x4002, Uint8Array.of(8));

  for (let i = 0; i < 100 && received.length < 4; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(calls).toEqual([4]);
  expect(received.map((f) => Array.from(f.subarray(0, 2)))).toEqual([
    [0x40, 0x00],
    [0x40, 0x01],
    [0x01, 0x01],
    [0x40, 0x02],
  ]);
  expect(Array.from(received[1]!.subarray(4, 8))).toEqual([4, 5, 6, 7]);
});
