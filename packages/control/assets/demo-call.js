/**
 * The call of the demo page: a client token from `POST /demo/token`, the client SDK (loaded from
 * this node) in the chosen mode with credentials from the control plane, signaling over a
 * WebSocket to the node's room service THROUGH the node's signaling proxy, and one peer
 * connection per remote member. The newcomer is the only offerer; the member already in the room
 * answers and asks for a new offer when it needs one (the SDK's `auto` fallback restarts ICE and
 * needs the renegotiation that follows). Collisions are still handled "perfect negotiation" style.
 * @module
 */
import { createClient } from '/sdk/cloudproxy-client.js';
import { selectedCandidatePair } from './common.js';

/** A random member id for this tab. */
function randomUid() {
  const bytes = window.crypto.getRandomValues(new Uint8Array(6));
  return `u-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function demoToken(room, uid) {
  const response = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room, uid }),
    cache: 'no-store',
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error ? `${body.error.message} (${body.error.code})` : '';
    throw new Error(`demo token refused: HTTP ${response.status} ${message}`);
  }
  return body;
}

/** The selected path of `pc` (local candidate type, protocols) and its inbound video counters. */
export async function selectedPath(pc) {
  const report = await pc.getStats();
  const pair = selectedCandidatePair(report);
  const local = pair ? report.get(pair.localCandidateId) || {} : {};
  const inbound =
    [...report.values()].find((stat) => stat.type === 'inbound-rtp' && stat.kind === 'video') || {};
  return {
    candidateType: local.candidateType,
    protocol: local.protocol,
    relayProtocol: local.relayProtocol,
    packetsReceived: inbound.packetsReceived || 0,
    bytesReceived: inbound.bytesReceived || 0,
    framesDecoded: inbound.framesDecoded || 0,
  };
}

/**
 * Joins `room` and calls whoever is (or comes) there. `hooks`: `onStatus(text, kind)`,
 * `onEvent(name, payload)` (SDK events and signaling), `onRemoteStream(stream | null)`.
 * Returns `{ leave(), peerConnection(), signalUrl, uid }`.
 */
export async function joinRoom({ room, mode, directTimeoutMs, localStream, hooks }) {
  const uid = randomUid();
  let grant = await demoToken(room, uid);
  const currentToken = async () => {
    if (Date.parse(grant.expiresAt) - Date.now() < 60_000) grant = await demoToken(room, uid);
    return grant.token;
  };
  const client = createClient({
    networkConfiguration: { proxy: { url: location.origin } },
    credentials: {
      endpoint: `${location.origin}${grant.credentialsPath}`,
      token: currentToken,
      channel: grant.channel,
      uid,
    },
    autoFallback: { directTimeoutMs },
  });
  client.startProxyServer(mode);
  for (const name of ['proxy-connected', 'is-using-cloud-proxy', 'fallback', 'error']) {
    client.on(name, (payload) => hooks.onEvent(name, payload));
  }

  // The room service, addressed as a proxy path of this node: `/{node}/demo/signal`. The SDK
  // leaves URLs of the proxy's own host direct, and this one already names the proxy route.
  const query = new URLSearchParams({ room, uid });
  const signalUrl = `wss://${location.host}${grant.signalPath}?${query}`;
  const socket = new client.WebSocket(signalUrl);
  const send = (data) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'signal', data }));
  };

  let pc;
  let polite = true;
  let makingOffer = false;
  let ignoreOffer = false;
  let chain = Promise.resolve();
  let left = false;

  const closePeer = () => {
    if (pc) pc.close();
    pc = undefined;
    hooks.onRemoteStream(null);
  };

  const openPeer = async () => {
    closePeer();
    const peer = await client.createPeerConnection();
    pc = peer;
    for (const track of localStream.getTracks()) peer.addTrack(track, localStream);
    peer.addEventListener('track', (event) => hooks.onRemoteStream(event.streams[0] ?? null));
    peer.addEventListener('icecandidate', (event) => {
      if (event.candidate) send({ candidate: event.candidate.toJSON() });
    });
    peer.addEventListener('connectionstatechange', () =>
      hooks.onEvent('connection-state', peer.connectionState),
    );
    peer.addEventListener('negotiationneeded', async () => {
      // Only the newcomer makes offers, so offers never cross (a rolled-back offer can lose the
      // candidates it gathered). The other side asks for one instead, e.g. after its own `auto`
      // fallback restarted ICE; before the first offer there is nothing to ask for.
      if (polite) {
        if (peer.remoteDescription) send({ renegotiate: true });
        return;
      }
      try {
        makingOffer = true;
        await peer.setLocalDescription();
        send({ description: peer.localDescription.toJSON() });
      } catch (err) {
        hooks.onEvent('negotiation-error', String(err));
      } finally {
        makingOffer = false;
      }
    });
  };

  const onSignal = async ({ description, candidate, renegotiate }) => {
    if (!pc) return;
    if (renegotiate) {
      // An ICE restart offer: the answer restarts ICE with the other side's current servers.
      if (!polite) pc.restartIce();
    } else if (description) {
      const collision =
        description.type === 'offer' && (makingOffer || pc.signalingState !== 'stable');
      ignoreOffer = !polite && collision;
      if (ignoreOffer) return;
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        send({ description: pc.localDescription.toJSON() });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!ignoreOffer) hooks.onEvent('candidate-error', String(err));
      }
    }
  };

  const onMessage = async (message) => {
    if (message.type === 'joined') {
      // The member already in the room is polite; the newcomer makes the first offer.
      polite = message.peers.length === 0;
      hooks.onStatus(
        message.peers.length ? 'Calling…' : `Waiting for someone to join "${room}"…`,
        'info',
      );
      if (message.peers.length) await openPeer();
    } else if (message.type === 'peer-joined') {
      hooks.onStatus('Someone joined: connecting…', 'info');
      await openPeer();
    } else if (message.type === 'peer-left') {
      closePeer();
      hooks.onStatus(`The other side left. Waiting in "${room}"…`, 'info');
    } else if (message.type === 'signal') {
      await onSignal(message.data);
    }
  };

  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const data = message.data || {};
    const detail = data.description
      ? data.description.type
      : data.candidate
        ? 'candidate'
        : data.renegotiate
          ? 'renegotiate'
          : '';
    hooks.onEvent('signal-message', detail ? `${message.type}:${detail}` : message.type);
    chain = chain
      .then(() => onMessage(message))
      .catch((err) => hooks.onStatus(`Call setup failed: ${err.message || err}`, 'error'));
  });
  socket.addEventListener('close', (event) => {
    hooks.onEvent('signaling-closed', { code: event.code, reason: event.reason });
    if (!left) {
      const why = event.reason ? `: ${event.reason}` : ` (code ${event.code})`;
      hooks.onStatus(`Signaling closed${why}`, event.code === 1000 ? 'info' : 'error');
    }
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error('signaling connection failed')), {
      once: true,
    });
  });
  hooks.onEvent('signaling-open', signalUrl);

  return {
    uid,
    signalUrl,
    peerConnection: () => pc,
    async leave() {
      left = true;
      socket.close(1000, 'left');
      closePeer();
      await client.close();
    },
  };
}
