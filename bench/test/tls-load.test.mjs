/**
 * Sanity tests of the TURN-over-TLS load generator's pure parts (no sockets, no timing): the
 * stream parser over any chunking, padding and STUN messages between ChannelData, the frame
 * layout, the round-trip histogram, the merge of several load processes and the UDP drop parser.
 * Run: node --test bench/test/
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RttHistogram,
  TurnStreamParser,
  buildFrames,
  bucketOf,
  frameTemplate,
  payloadRttUs,
} from '../lib/tls-load-wire.mjs';
import { dropsBetween, mergeResults, parseUdpDrops, splitEvenly } from '../lib/tls-load.mjs';

/** A ChannelData frame on `channel` with `data`, zero-padded to 4 bytes as over streams. */
function channelData(channel, data) {
  const frame = Buffer.alloc(4 + ((data.length + 3) & ~3));
  frame.writeUInt16BE(channel, 0);
  frame.writeUInt16BE(data.length, 2);
  Buffer.from(data).copy(frame, 4);
  return frame;
}

/** A STUN message header with `bodyBytes` of attribute bytes (type 0x0101, success). */
function stunMessage(bodyBytes, fill = 7) {
  const message = Buffer.alloc(20 + bodyBytes, fill);
  message.writeUInt16BE(0x0101, 0);
  message.writeUInt16BE(bodyBytes, 2);
  message.writeUInt32BE(0x2112a442, 4);
  return message;
}

/** Feeds `chunks` to a parser; returns what it delivered, in order. */
function parse(chunks) {
  const frames = [];
  const parser = new TurnStreamParser(
    (buf, start, channel, length) =>
      frames.push({ kind: 'cd', channel, data: Buffer.from(buf.subarray(start, start + length)) }),
    (frame) => frames.push({ kind: 'stun', bytes: Buffer.from(frame) }),
  );
  for (const chunk of chunks) parser.push(chunk);
  return { frames, parser };
}

const STREAM = Buffer.concat([
  channelData(0x4000, Buffer.from('hello')), // 5 bytes: 3 bytes of padding
  channelData(0x4001, Buffer.alloc(100, 1)), // no padding
  stunMessage(12),
  channelData(0x7fff, Buffer.from('ab')), // 2 bytes of padding
  channelData(0x4000, Buffer.alloc(0)), // empty
]);

function checkStream(frames) {
  assert.equal(frames.length, 5);
  assert.deepEqual(
    frames.map((f) => f.kind),
    ['cd', 'cd', 'stun', 'cd', 'cd'],
  );
  assert.equal(frames[0].channel, 0x4000);
  assert.equal(frames[0].data.toString(), 'hello');
  assert.equal(frames[1].channel, 0x4001);
  assert.deepEqual(frames[1].data, Buffer.alloc(100, 1));
  assert.equal(frames[2].bytes.length, 32);
  assert.equal(frames[2].bytes.readUInt32BE(4), 0x2112a442);
  assert.equal(frames[3].channel, 0x7fff);
  assert.equal(frames[3].data.toString(), 'ab');
  assert.equal(frames[4].data.length, 0);
}

test('several frames in one chunk, padding skipped, a STUN message between ChannelData', () => {
  const { frames, parser } = parse([STREAM]);
  checkStream(frames);
  assert.equal(parser.bufferedBytes, 0);
  assert.equal(parser.failure, undefined);
});

test('every split of the stream into two chunks gives the same frames', () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const { frames, parser } = parse([STREAM.subarray(0, cut), STREAM.subarray(cut)]);
    checkStream(frames);
    assert.equal(parser.bufferedBytes, 0, `cut at ${cut}`);
  }
});

test('one byte at a time gives the same frames', () => {
  const bytes = [...STREAM].map((b) => Buffer.from([b]));
  checkStream(parse(bytes).frames);
});

test('a frame waits for its padding and the rest of its bytes', () => {
  const frame = channelData(0x4000, Buffer.from('hello'));
  const { frames, parser } = parse([frame.subarray(0, 9)]);
  assert.equal(frames.length, 0, 'data complete but padding missing: not yet delivered');
  assert.equal(parser.bufferedBytes, 9);
  parser.push(frame.subarray(9));
  assert.equal(parser.bufferedBytes, 0);
});

test('garbage fails the stream for good', () => {
  const { frames, parser } = parse([
    channelData(0x4000, Buffer.from('ok!!')),
    Buffer.from([0x80, 0, 0, 4, 1, 2, 3, 4]),
    channelData(0x4000, Buffer.from('late')),
  ]);
  assert.equal(frames.length, 1);
  assert.match(parser.failure, /neither STUN nor ChannelData/);
  const odd = parse([Buffer.from([0x01, 0x01, 0x00, 0x05])]);
  assert.match(odd.parser.failure, /not a multiple of 4/);
});

test('load frames carry marker, sequence and send time; others are not timed', () => {
  const template = frameTemplate(0x4000, 100);
  assert.equal(template.length, 104);
  const frames = buildFrames(template, 3, 41, [1000, 500_000]);
  const seen = [];
  const parser = new TurnStreamParser(
    (buf, start, channel, length) => {
      seen.push({
        channel,
        length,
        seq: buf.readUInt32BE(start + 4),
        rtt: payloadRttUs(buf, start, length, [1001, 250_000]),
      });
    },
    () => assert.fail('no STUN expected'),
  );
  parser.push(frames);
  assert.deepEqual(
    seen.map((s) => s.seq),
    [41, 42, 43],
  );
  for (const s of seen) {
    assert.equal(s.channel, 0x4000);
    assert.equal(s.length, 100);
    assert.equal(s.rtt, 999_750);
  }
  const foreign = channelData(0x4000, Buffer.alloc(100, 0));
  assert.equal(payloadRttUs(foreign, 4, 100, [1, 0]), -1);
  assert.equal(payloadRttUs(foreign, 4, 8, [1, 0]), -1);
  assert.throws(() => frameTemplate(0x4000, 8), /≥ 16 bytes/);
});

test('RTT histogram: exact below 1 ms, within 1% above, merges', () => {
  assert.equal(bucketOf(0.4), 0);
  assert.equal(bucketOf(999.9), 999);
  for (const us of [1024, 1500, 12_345, 987_654]) {
    const b = bucketOf(us);
    assert.ok(b <= us && us - b < us * 0.01, `${us} → ${b}`);
  }
  const a = new RttHistogram();
  const b = new RttHistogram();
  for (let i = 1; i <= 99; i++) a.add(i);
  b.add(5000);
  const merged = new RttHistogram().merge(a.toJSON()).merge(JSON.parse(JSON.stringify(b)));
  const s = merged.summary();
  assert.equal(s.count, 100);
  assert.equal(s.avgUs, (99 * 50 + 5000) / 100);
  assert.equal(s.p50Us, 50);
  assert.equal(s.p99Us, 99);
  assert.equal(merged.percentile(100), bucketOf(5000));
  assert.equal(s.maxUs, 5000);
  assert.deepEqual(new RttHistogram().summary(), { count: 0 });
});

test('results of two load processes merge into one', () => {
  const one = (received, cpu, last) => {
    const h = new RttHistogram();
    for (let i = 0; i < received; i++) h.add(100 + i);
    return {
      sessions: 5,
      offered: 1000,
      sent: 1000,
      received,
      sendingS: 2,
      lastReceiveS: last,
      corrupt: 0,
      reads: 10,
      stunOther: 1,
      sessionErrors: [],
      receivedBySession: [received],
      rtt: h.toJSON(),
      clientCpuPercent: cpu,
      maxTickGapMs: cpu / 10,
      maxBacklogBytes: 10,
      sentPerS: [500, 1000],
      receivedPerS: [400, received],
    };
  };
  const m = mergeResults([one(1000, 20, 2.001), one(990, 30, 2.5)]);
  assert.equal(m.sessions, 10);
  assert.equal(m.offered, 2000);
  assert.equal(m.received, 1990);
  assert.equal(m.lost, 10);
  assert.equal(m.lossPercent, 0.5);
  assert.equal(m.msgPerS, 1990 / 2.5);
  assert.equal(m.rtt.count, 1990);
  assert.equal(m.clientCpuPercent, 50);
  assert.equal(m.reads, 20);
  assert.equal(m.clientCpuMaxPercent, 30);
  assert.deepEqual(m.receivedPerS, [800, 1990]);
  assert.deepEqual(splitEvenly(10, 3), [4, 3, 3]);
  assert.deepEqual(splitEvenly(10, 1), [10]);
});

test('UDP drops per local port from /proc/net/udp and /proc/net/udp6 lines', () => {
  const v4 =
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
    '  1: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 12\n' +
    '  2: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0000000000000000 5\n';
  const v6 =
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
    '  5: 0000000000000000FFFF00000100007F:C350 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4 2 0000000000000000 2\n';
  assert.deepEqual(
    parseUdpDrops(v4),
    new Map([
      [8080, 12],
      [50000, 5],
    ]),
  );
  assert.deepEqual(parseUdpDrops(v6), new Map([[50000, 2]]));
  const before = new Map([
    [8080, 2],
    [50000, 5],
  ]);
  const after = new Map([
    [8080, 12],
    [50000, 9],
    [40000, 3],
  ]);
  assert.deepEqual(dropsBetween(before, after, 8080), { atPeer: 10, elsewhere: 7 });
});
