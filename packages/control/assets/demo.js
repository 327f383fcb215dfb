/**
 * The demo call page (`/demo`): room form, local and remote video, the badge
 * "mode · transport · cloud proxy: yes/no" from the SDK's events and a stats line from
 * `getStats()`. The call itself is in `demo-call.js`.
 *
 * Query parameters fill the form: `room`, `mode` (`auto`, `force-udp`, `force-tcp`) and
 * `fallbackMs` (how long `auto` waits for a direct path, 1000-30000, default 5000).
 * `window.cloudproxyDemo` exposes the call's state (events, badge, stats) for automated checks.
 * @module
 */
import { PROXY_MODES, byId, formatBytes, setStatus } from './common.js';
import { joinRoom, selectedPath } from './demo-call.js';

const STATS_INTERVAL_MS = 1000;

const form = byId('join-form');
const roomInput = byId('room');
const modeSelect = byId('mode');
const joinButton = byId('join');
const leaveButton = byId('leave');
const statusLine = byId('demo-status');
const badge = byId('demo-badge');
const statsLine = byId('demo-stats');
const localVideo = byId('local-video');
const remoteVideo = byId('remote-video');
const remoteEmpty = byId('remote-empty');

/** State for automated checks (and the curious): never used by the page itself. */
const state = { events: [], badge: {}, stats: {}, signalUrl: undefined, uid: undefined };
window.cloudproxyDemo = state;

let call;
let localStream;
let statsTimer;
let connection = { mode: '', transport: '', relayed: undefined, phase: 'idle' };

function showBadge() {
  const { mode, transport, relayed, phase } = connection;
  const proxyText = relayed === undefined ? '–' : relayed ? 'yes' : 'no';
  const transportText = phase === 'connected' ? transport || '?' : phase;
  badge.textContent =
    phase === 'idle' ? 'not in a call' : `${mode} · ${transportText} · cloud proxy: ${proxyText}`;
  badge.dataset.state =
    phase === 'connected' ? (relayed ? 'relay' : 'direct') : phase === 'failed' ? 'failed' : phase;
  if (phase === 'idle') badge.dataset.state = 'idle';
  badge.dataset.mode = mode;
  badge.dataset.transport = transport;
  badge.dataset.cloudProxy = proxyText;
  state.badge = { ...connection, text: badge.textContent };
}

function randomRoom() {
  const words = ['blue', 'quiet', 'swift', 'amber', 'north', 'cedar', 'ember', 'lunar'];
  const pick = () => words[Math.floor(Math.random() * words.length)];
  return `${pick()}-${pick()}-${Math.floor(Math.random() * 90 + 10)}`;
}

function fallbackMs(params) {
  const value = Number(params.get('fallbackMs'));
  return Number.isInteger(value) && value >= 1000 && value <= 30_000 ? value : 5000;
}

/** A camera stream, else a generated one (a moving bar), so a machine without camera can call. */
async function openLocalMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch {
    try {
      return await navigator.mediaDevices.getUserMedia({ video: true });
    } catch {
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const context = canvas.getContext('2d');
      let frame = 0;
      setInterval(() => {
        frame += 1;
        context.fillStyle = '#14202e';
        context.fillRect(0, 0, 640, 480);
        context.fillStyle = '#7fb0ff';
        context.fillRect((frame * 8) % 640, 200, 80, 80);
      }, 66);
      return canvas.captureStream(15);
    }
  }
}

function record(name, payload) {
  const summary =
    payload && typeof payload === 'object'
      ? Object.fromEntries(Object.entries(payload).filter(([key]) => key !== 'peerConnection'))
      : payload;
  state.events.push({ name, payload: summary, atMs: Math.round(performance.now()) });
}

async function updateStats() {
  const pc = call?.peerConnection();
  if (!pc) {
    statsLine.textContent = '';
    return;
  }
  const path = await selectedPath(pc);
  state.stats = path;
  if (connection.phase === 'connected' && !connection.relayed && path.protocol) {
    connection.transport = path.protocol;
    showBadge();
  }
  const route = path.candidateType
    ? `${path.candidateType}/${path.relayProtocol || path.protocol}`
    : 'not selected yet';
  statsLine.textContent = `video packets received: ${path.packetsReceived} (${formatBytes(path.bytesReceived)}) · path: ${route}`;
}

function showStatus(text, kind) {
  record('status', text);
  setStatus(statusLine, text, kind);
}

function onEvent(name, payload) {
  record(name, payload);
  if (name === 'proxy-connected') {
    connection = { ...connection, transport: payload.transport, relayed: true, phase: 'connected' };
  } else if (name === 'is-using-cloud-proxy') {
    connection = { ...connection, relayed: payload, phase: 'connected' };
  } else if (name === 'fallback') {
    connection = { ...connection, phase: 'falling back to relay over TLS' };
    setStatus(statusLine, `No direct path after ${payload.elapsedMs} ms: using the relay.`, 'warn');
  } else if (name === 'error') {
    connection = { ...connection, phase: 'failed' };
    setStatus(statusLine, `Call failed: ${payload.message} (${payload.code})`, 'error');
  } else if (name === 'connection-state' && payload === 'connected') {
    setStatus(statusLine, 'Connected.', 'ok');
  } else {
    return;
  }
  showBadge();
}

/** Plays the remote video; muted when the browser refuses sound without a user gesture. */
function playRemote() {
  remoteVideo.play().catch((err) => {
    record('play-error', String(err));
    if (err.name !== 'NotAllowedError' || remoteVideo.muted) return;
    remoteVideo.muted = true;
    playRemote();
  });
}

function onRemoteStream(stream) {
  remoteEmpty.hidden = stream !== null;
  // The track event fires once per track (audio, video) with the same stream: assigning it again
  // would restart loading and abort the pending play().
  if (remoteVideo.srcObject === stream) return;
  remoteVideo.srcObject = stream;
  if (stream) {
    playRemote();
  } else {
    connection = { ...connection, transport: '', relayed: undefined, phase: 'waiting' };
    showBadge();
  }
}

async function join(event) {
  event.preventDefault();
  const room = roomInput.value.trim();
  const mode = modeSelect.value;
  joinButton.disabled = true;
  setStatus(statusLine, 'Joining…', 'info');
  try {
    localStream ??= await openLocalMedia();
    localVideo.srcObject = localStream;
    connection = { mode, transport: '', relayed: undefined, phase: 'waiting' };
    showBadge();
    const params = new URLSearchParams(location.search);
    call = await joinRoom({
      room,
      mode,
      directTimeoutMs: fallbackMs(params),
      localStream,
      hooks: {
        onStatus: showStatus,
        onEvent,
        onRemoteStream,
      },
    });
    state.signalUrl = call.signalUrl;
    state.uid = call.uid;
    window.history.replaceState(null, '', `?room=${encodeURIComponent(room)}&mode=${mode}`);
    statsTimer = setInterval(() => {
      updateStats().catch((err) => record('stats-error', String(err)));
    }, STATS_INTERVAL_MS);
    leaveButton.disabled = false;
    roomInput.disabled = true;
    modeSelect.disabled = true;
  } catch (err) {
    setStatus(statusLine, err.message || String(err), 'error');
    joinButton.disabled = false;
    connection = { ...connection, phase: 'idle' };
    showBadge();
  }
}

async function leave() {
  leaveButton.disabled = true;
  clearInterval(statsTimer);
  const current = call;
  call = undefined;
  await current?.leave();
  onRemoteStream(null);
  connection = { mode: '', transport: '', relayed: undefined, phase: 'idle' };
  showBadge();
  statsLine.textContent = '';
  setStatus(statusLine, '', 'info');
  joinButton.disabled = false;
  roomInput.disabled = false;
  modeSelect.disabled = false;
}

const params = new URLSearchParams(location.search);
roomInput.value = params.get('room') || randomRoom();
if (PROXY_MODES.includes(params.get('mode'))) modeSelect.value = params.get('mode');
form.addEventListener('submit', (event) => {
  join(event).catch((err) => setStatus(statusLine, String(err), 'error'));
});
leaveButton.addEventListener('click', () => {
  leave().catch((err) => setStatus(statusLine, String(err), 'error'));
});
window.addEventListener('pagehide', () => {
  call?.leave();
});
showBadge();
