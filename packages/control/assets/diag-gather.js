/**
 * ICE candidate gathering for the diagnostics page, and the verdict per ICE server URL.
 *
 * Facts about Chromium that shape the verdicts (checked against a local TURN server):
 * - every relay and srflx candidate carries the `url` of the server that produced it (with
 *   `?transport=udp` spelled out); `relayProtocol` may be null for TURN/UDP candidates, so the
 *   relay protocol falls back to the URL's transport;
 * - wrong credentials fire `icecandidateerror` 401 within one round trip;
 * - an unreachable server fires 701 only when gathering gives up, about 40 s later: the page's
 *   own timeout (15 s by default) calls a URL with no answer by then "not reachable".
 * @module
 */

/** Ports used when a URL names none (RFC 7064 and RFC 7065). */
const DEFAULT_PORTS = { stun: 3478, turn: 3478, stuns: 5349, turns: 5349 };

/** Scheme, host:port and transport of an ICE server URL, or undefined when it is not one. */
export function parseIceUrl(url) {
  const text = String(url).trim();
  const match = /^(stuns?|turns?):([^?]+)(?:\?(.*))?$/i.exec(text);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  let hostPort = match[2].toLowerCase();
  if (!/(^|[^:\]]):\d+$/.test(hostPort) && !/^\[.*\]:\d+$/.test(hostPort)) {
    hostPort = `${hostPort}:${DEFAULT_PORTS[scheme]}`;
  }
  let transport = new URLSearchParams(match[3] || '').get('transport')?.toLowerCase();
  if (!transport && scheme.startsWith('turn')) transport = scheme === 'turns' ? 'tcp' : 'udp';
  const relayProtocol = scheme === 'turns' ? 'tls' : scheme === 'turn' ? transport : undefined;
  const key = transport ? `${scheme}:${hostPort}?transport=${transport}` : `${scheme}:${hostPort}`;
  return { scheme, hostPort, transport, relayProtocol, key };
}

/** The comparable form of an ICE server URL (lowercase, default port and transport added). */
function urlKey(url) {
  return url ? (parseIceUrl(url)?.key ?? String(url).trim().toLowerCase()) : '';
}

/** Every URL of an RTCIceServer list, flattened. */
export function serverUrls(iceServers) {
  return iceServers.flatMap((server) => (Array.isArray(server.urls) ? server.urls : [server.urls]));
}

/** `candidate:F C PROTO PRIO ADDR PORT typ T [raddr A] [rport P] [tcptype X] …` → fields. */
function parseCandidateLine(line) {
  const parts = String(line).replace(/^a=/, '').split(/\s+/);
  const fields = {
    foundation: parts[0]?.split(':')[1],
    component: Number(parts[1]),
    protocol: parts[2]?.toLowerCase(),
    priority: Number(parts[3]),
    address: parts[4],
    port: Number(parts[5]),
  };
  for (let i = 6; i + 1 < parts.length; i += 2) {
    const value = parts[i + 1];
    if (parts[i] === 'typ') fields.type = value;
    else if (parts[i] === 'raddr') fields.relatedAddress = value;
    else if (parts[i] === 'rport') fields.relatedPort = Number(value);
    else if (parts[i] === 'tcptype') fields.tcpType = value;
  }
  return fields;
}

const CANDIDATE_FIELDS = [
  'type',
  'foundation',
  'component',
  'protocol',
  'address',
  'port',
  'priority',
  'tcpType',
  'relatedAddress',
  'relatedPort',
];

/** A gathered candidate as a plain record; `timeMs` is since the start of gathering. */
function describeCandidate(candidate, timeMs) {
  const parsed = parseCandidateLine(candidate.candidate);
  const record = { timeMs };
  for (const key of CANDIDATE_FIELDS) {
    const value = candidate[key];
    record[key] = value === null || value === undefined || value === '' ? parsed[key] : value;
  }
  record.url = candidate.url || undefined;
  const fromUrl = record.url ? parseIceUrl(record.url)?.relayProtocol : undefined;
  record.relayProtocol = candidate.relayProtocol || (record.type === 'relay' ? fromUrl : undefined);
  record.raw = candidate.candidate;
  return record;
}

/** `2113937151` → `2113937151 (type 126 · local 65535 · component 1)` (RFC 8445 §5.1.2.1). */
export function describePriority(priority) {
  if (!Number.isFinite(priority)) return '–';
  const p = priority >>> 0;
  return `${p} (type ${p >>> 24} · local ${(p >>> 8) & 0xffff} · component ${256 - (p & 0xff)})`;
}

/** An `icecandidateerror` event as a plain record. */
function describeError(event, timeMs) {
  return {
    timeMs,
    url: event.url || '',
    address: event.address ?? '',
    port: event.port ?? '',
    errorCode: event.errorCode,
    errorText: event.errorText || '',
  };
}

/**
 * Gathers candidates with `iceServers` and `policy` ('all' | 'relay') until gathering completes,
 * `timeoutMs` passes, `isDone()` says every URL has its answer, or `signal.stopped` is set.
 * Calls `onCandidate(record)` and `onError(record)` as events arrive.
 */
export async function gatherCandidates({
  iceServers,
  policy,
  timeoutMs,
  onCandidate,
  onError,
  isDone,
  signal,
}) {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const candidates = [];
  const errors = [];
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy });
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const check = () => {
    if (signal?.stopped) finish('stopped');
    else if (isDone?.(candidates, errors)) finish('resolved');
  };
  pc.addEventListener('icecandidate', (event) => {
    if (!event.candidate) {
      finish('complete');
      return;
    }
    if (!event.candidate.candidate) return;
    const record = describeCandidate(event.candidate, elapsed());
    candidates.push(record);
    onCandidate?.(record);
    check();
  });
  pc.addEventListener('icecandidateerror', (event) => {
    const record = describeError(event, elapsed());
    errors.push(record);
    onError?.(record);
    check();
  });
  pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') finish('complete');
  });
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  const poll = setInterval(check, 250);
  try {
    pc.createDataChannel('diagnostics');
    await pc.setLocalDescription(await pc.createOffer());
    const endReason = await finished;
    return { candidates, errors, endReason, durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    pc.close();
  }
}

function relayVerdict(found, url) {
  const first = found[0];
  return {
    status: 'reachable',
    text: 'reachable',
    detail: `relay candidate ${first.address}:${first.port} over ${first.relayProtocol || url.relayProtocol}`,
  };
}

function errorVerdict(errs) {
  const auth = errs.find((e) => e.errorCode === 401);
  if (auth)
    return {
      status: 'auth-failed',
      text: 'authentication failed',
      detail: `401 ${auth.errorText}`,
    };
  const unreachable = errs.find((e) => e.errorCode === 701);
  if (unreachable) {
    return { status: 'unreachable', text: 'not reachable', detail: `701 ${unreachable.errorText}` };
  }
  const other = errs[0];
  return { status: 'error', text: `error ${other.errorCode}`, detail: other.errorText };
}

/**
 * The verdict for one URL: `reachable`, `auth-failed`, `unreachable`, `error`, `untested`
 * (STUN under relay-only policy), `unknown` (STUN without srflx: answers equal to a host
 * address are dropped by the browser) or `pending` (gathering still running).
 */
export function urlVerdict(url, { candidates, errors, policy, endReason, timeoutMs }) {
  const parsed = parseIceUrl(url);
  if (!parsed)
    return {
      status: 'error',
      text: 'invalid URL',
      detail: 'expected stun:, stuns:, turn: or turns:',
    };
  const isTurn = parsed.scheme.startsWith('turn');
  const wantType = isTurn ? 'relay' : 'srflx';
  const found = candidates.filter((c) => c.type === wantType && urlKey(c.url) === parsed.key);
  if (found.length) {
    return isTurn
      ? relayVerdict(found, parsed)
      : {
          status: 'reachable',
          text: 'reachable',
          detail: `srflx ${found[0].address}:${found[0].port}`,
        };
  }
  const errs = errors.filter((e) => urlKey(e.url) === parsed.key);
  if (errs.length) return errorVerdict(errs);
  if (!isTurn && policy === 'relay') {
    return {
      status: 'untested',
      text: 'not tested',
      detail: 'STUN is not used with the relay-only policy',
    };
  }
  if (!endReason) return { status: 'pending', text: 'waiting…', detail: '' };
  if (!isTurn) {
    return {
      status: 'unknown',
      text: 'no answer seen',
      detail: 'no srflx candidate: unreachable, or the mapped address equals a host address',
    };
  }
  const why =
    endReason === 'timeout'
      ? `no answer within ${Math.round(timeoutMs / 1000)} s`
      : 'no relay candidate and no error';
  return { status: 'unreachable', text: 'not reachable', detail: why };
}

/** Whether every TURN URL has a definite verdict (gathering may stop early). */
export function allTurnUrlsResolved(iceServers, candidates, errors) {
  const urls = serverUrls(iceServers).filter((url) => parseIceUrl(url)?.scheme.startsWith('turn'));
  if (urls.length === 0) return false;
  return urls.every((url) => {
    const verdict = urlVerdict(url, { candidates, errors, policy: 'relay', endReason: undefined });
    return verdict.status !== 'pending';
  });
}
