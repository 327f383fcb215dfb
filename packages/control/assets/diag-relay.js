/**
 * The relayed connection test: two RTCPeerConnections in this page, both relay-only, connected
 * through the ICE servers under test; a data channel ping/pong proves data flows, and the
 * selected candidate pair from getStats() (succeeded and nominated, both candidates `relay`)
 * proves it flowed through the relay, and over which protocol.
 * @module
 */
import { selectedCandidatePair } from './common.js';

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function opened(channel) {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true });
    channel.addEventListener('close', () => reject(new Error('data channel closed')), {
      once: true,
    });
  });
}

function nextMessage(channel) {
  return new Promise((resolve) => {
    channel.addEventListener('message', (event) => resolve(event.data), { once: true });
  });
}

function candidateFields(stats) {
  if (!stats) return undefined;
  return {
    candidateType: stats.candidateType,
    relayProtocol: stats.relayProtocol,
    protocol: stats.protocol,
    address: stats.address ?? stats.ip,
    port: stats.port,
    url: stats.url,
  };
}

/** The selected candidate pair of `pc` with its local and remote candidates. */
async function selectedPair(pc) {
  const report = await pc.getStats();
  const pair = selectedCandidatePair(report);
  if (!pair) return undefined;
  return {
    state: pair.state,
    nominated: Boolean(pair.nominated),
    bytesSent: pair.bytesSent,
    bytesReceived: pair.bytesReceived,
    rttMs: pair.currentRoundTripTime === undefined ? undefined : pair.currentRoundTripTime * 1000,
    local: candidateFields(report.get(pair.localCandidateId)),
    remote: candidateFields(report.get(pair.remoteCandidateId)),
  };
}

/** The pair's state reads `in-progress` while a keepalive check is in flight: poll a moment. */
async function settledPair(pc, settleMs) {
  const deadline = performance.now() + settleMs;
  for (;;) {
    const pair = await selectedPair(pc);
    if ((pair?.state === 'succeeded' && pair.nominated) || performance.now() > deadline)
      return pair;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function wire(from, to, name, notes) {
  from.addEventListener('icecandidate', (event) => {
    if (!event.candidate) return;
    to.addIceCandidate(event.candidate).catch((err) =>
      notes.log(`${name} addIceCandidate: ${err}`),
    );
  });
  from.addEventListener('icecandidateerror', (event) => {
    notes.errors.push({
      pc: name,
      url: event.url,
      errorCode: event.errorCode,
      errorText: event.errorText,
    });
  });
  from.addEventListener('iceconnectionstatechange', () =>
    notes.log(`${name} ICE ${from.iceConnectionState}`),
  );
}

async function connectAndPing(pc1, pc2, notes) {
  const dc1 = pc1.createDataChannel('relay-test', { ordered: true });
  const dc2Promise = new Promise((resolve) => {
    pc2.addEventListener('datachannel', (event) => resolve(event.channel), { once: true });
  });
  const offer = await pc1.createOffer();
  await pc1.setLocalDescription(offer);
  await pc2.setRemoteDescription(offer);
  const answer = await pc2.createAnswer();
  await pc2.setLocalDescription(answer);
  await pc1.setRemoteDescription(answer);
  const dc2 = await dc2Promise;
  await Promise.all([opened(dc1), opened(dc2)]);
  notes.log('data channel open');
  const sentAt = performance.now();
  const ping = nextMessage(dc2);
  dc1.send('ping');
  if ((await ping) !== 'ping') throw new Error('ping arrived garbled');
  const pong = nextMessage(dc1);
  dc2.send('pong');
  if ((await pong) !== 'pong') throw new Error('pong arrived garbled');
  const roundTripMs = Math.round(performance.now() - sentAt);
  notes.log(`ping/pong round trip ${roundTripMs} ms`);
  return roundTripMs;
}

function judge(pair1, pair2) {
  for (const [name, pair] of [
    ['first', pair1],
    ['second', pair2],
  ]) {
    if (!pair) return `the ${name} peer has no selected candidate pair`;
    if (pair.state !== 'succeeded' || !pair.nominated) {
      return `the ${name} peer's selected pair is ${pair.state}${pair.nominated ? '' : ', not nominated'}`;
    }
    if (pair.local?.candidateType !== 'relay' || pair.remote?.candidateType !== 'relay') {
      return `the ${name} peer's selected pair is ${pair.local?.candidateType} ↔ ${pair.remote?.candidateType}, not relay ↔ relay`;
    }
  }
  return undefined;
}

/**
 * Runs the test. Resolves (never rejects) with `{ ok, relayProtocol?, roundTripMs?, pairs,
 * error?, candidateErrors, log }`; `onLog(line)` reports progress.
 */
export async function runRelayTest({ iceServers, timeoutMs, onLog }) {
  const started = performance.now();
  const notes = {
    errors: [],
    lines: [],
    log(text) {
      const line = `${Math.round(performance.now() - started)} ms  ${text}`;
      this.lines.push(line);
      onLog?.(line);
    },
  };
  const config = { iceServers, iceTransportPolicy: 'relay' };
  let pc1;
  let pc2;
  try {
    pc1 = new RTCPeerConnection(config);
    pc2 = new RTCPeerConnection(config);
    wire(pc1, pc2, 'first', notes);
    wire(pc2, pc1, 'second', notes);
    const roundTripMs = await withTimeout(
      connectAndPing(pc1, pc2, notes),
      timeoutMs,
      'relayed connection',
    );
    const [pair1, pair2] = await Promise.all([settledPair(pc1, 5000), settledPair(pc2, 5000)]);
    const problem = judge(pair1, pair2);
    const base = {
      pairs: { first: pair1, second: pair2 },
      roundTripMs,
      candidateErrors: notes.errors,
      log: notes.lines,
    };
    if (problem) return { ok: false, error: problem, ...base };
    return { ok: true, relayProtocol: pair1.local.relayProtocol, ...base };
  } catch (err) {
    let pairs;
    if (pc1 && pc2) pairs = { first: await selectedPair(pc1), second: await selectedPair(pc2) };
    return {
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      pairs,
      candidateErrors: notes.errors,
      log: notes.lines,
    };
  } finally {
    pc1?.close();
    pc2?.close();
  }
}
