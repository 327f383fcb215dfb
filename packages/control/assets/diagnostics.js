/**
 * The ICE diagnostics page: candidate gathering with a verdict per server URL, the
 * `icecandidateerror` table, and the relayed connection test. Results are exposed with stable
 * ids and data attributes (`#gather-status[data-status]`, `#verdicts-table tr[data-status]`,
 * `#verdict[data-status][data-relay-protocol]`) for operators' scripts and tests.
 * @module
 */
import { byId, el, fillTable, formValues, replaceChildren, row, setStatus } from './common.js';
import {
  allTurnUrlsResolved,
  describePriority,
  gatherCandidates,
  serverUrls,
  urlVerdict,
} from './diag-gather.js';
import { runRelayTest } from './diag-relay.js';
import { createServerList, initCredentialsForm, loadHandoff } from './diag-servers.js';

const RELAY_TEST_TIMEOUT_MS = 20_000;
const BADGES = {
  reachable: 'badge badge-ok',
  'auth-failed': 'badge badge-error',
  unreachable: 'badge badge-error',
  error: 'badge badge-error',
  untested: 'badge',
  unknown: 'badge badge-warn',
  pending: 'badge',
};

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function setPolicy(policy) {
  byId(policy === 'relay' ? 'policy-relay' : 'policy-all').checked = true;
}

function candidateRow(c) {
  const cells = [
    `${c.timeMs} ms`,
    el('span', { class: c.type === 'relay' ? 'badge badge-ok' : 'badge' }, c.type ?? '?'),
    el('span', { class: 'mono' }, c.foundation ?? '–'),
    c.tcpType ? `${c.protocol} (${c.tcpType})` : (c.protocol ?? '–'),
    el('span', { class: 'mono' }, c.address ?? '–'),
    String(c.port ?? '–'),
    el('span', { class: 'mono small' }, describePriority(c.priority)),
    el('span', { class: 'mono small' }, c.url ?? ''),
    c.relayProtocol ?? '',
  ];
  const tr = row(cells, {
    dataset: { type: c.type ?? '', url: c.url ?? '', relayProtocol: c.relayProtocol ?? '' },
  });
  tr.children[0]?.classList.add('num');
  tr.children[5]?.classList.add('num');
  return tr;
}

function errorRow(e) {
  const tr = row(
    [
      `${e.timeMs} ms`,
      el('span', { class: 'mono small' }, e.url || '–'),
      el('span', { class: 'mono' }, String(e.address || '–')),
      String(e.port || '–'),
      String(e.errorCode),
      e.errorText,
    ],
    { dataset: { url: e.url, errorCode: String(e.errorCode) } },
  );
  for (const index of [0, 3, 4]) tr.children[index]?.classList.add('num');
  return tr;
}

function renderVerdicts(iceServers, run) {
  const rows = serverUrls(iceServers).map((url) => {
    const verdict = run ? urlVerdict(url, run) : { status: 'idle', text: 'not run', detail: '' };
    return row(
      [
        el('span', { class: 'mono' }, url),
        el('span', { class: BADGES[verdict.status] || 'badge' }, verdict.text),
        verdict.detail,
      ],
      { dataset: { url, status: verdict.status } },
    );
  });
  fillTable(byId('verdicts-table').querySelector('tbody'), rows, 'No servers to judge.');
}

function setGatherStatus(status, message, kind) {
  const node = byId('gather-status');
  node.dataset.status = status;
  setStatus(node, message, kind);
}

async function gather(list, control) {
  const iceServers = list.get();
  const { policy, timeoutS } = formValues(byId('gather-form'));
  const timeoutMs = Number(timeoutS || 15) * 1000;
  const run = { candidates: [], errors: [], policy, endReason: undefined, timeoutMs };
  const candidateBody = byId('candidates-table').querySelector('tbody');
  const errorBody = byId('errors-table').querySelector('tbody');
  fillTable(candidateBody, [], 'Gathering…');
  fillTable(errorBody, [], 'No errors so far.');
  renderVerdicts(iceServers, run);
  setGatherStatus('running', `Gathering with policy "${policy}"…`, 'info');
  control.signal = { stopped: false };
  byId('gather-start').disabled = true;
  byId('gather-stop').disabled = false;
  try {
    const result = await gatherCandidates({
      iceServers,
      policy,
      timeoutMs,
      signal: control.signal,
      isDone: policy === 'relay' ? (c, e) => allTurnUrlsResolved(iceServers, c, e) : undefined,
      onCandidate(candidate) {
        run.candidates.push(candidate);
        if (run.candidates.length === 1) replaceChildren(candidateBody);
        candidateBody.append(candidateRow(candidate));
        renderVerdicts(iceServers, run);
      },
      onError(error) {
        run.errors.push(error);
        if (run.errors.length === 1) replaceChildren(errorBody);
        errorBody.append(errorRow(error));
        renderVerdicts(iceServers, run);
      },
    });
    run.endReason = result.endReason;
    renderVerdicts(iceServers, run);
    if (run.candidates.length === 0) fillTable(candidateBody, [], 'No candidates were gathered.');
    const relays = run.candidates.filter((c) => c.type === 'relay').length;
    const why = {
      complete: 'gathering complete',
      timeout: 'timeout',
      resolved: 'every server answered',
      stopped: 'stopped',
    }[result.endReason];
    setGatherStatus(
      'done',
      `${plural(run.candidates.length, 'candidate')} (${relays} relay), ${plural(run.errors.length, 'error')} in ${result.durationMs} ms: ${why}.`,
      run.errors.length && !relays ? 'warn' : 'ok',
    );
  } catch (err) {
    setGatherStatus(
      'failed',
      `Gathering failed: ${err instanceof Error ? err.message : String(err)}`,
      'error',
    );
  } finally {
    byId('gather-start').disabled = false;
    byId('gather-stop').disabled = true;
  }
}

function candidateText(c) {
  if (!c) return '–';
  return `${c.candidateType ?? '?'} ${c.address ?? '?'}:${c.port ?? '?'} (${c.protocol ?? '?'})`;
}

function renderRelayDetails(result) {
  const rows = Object.entries(result.pairs || {}).map(([name, pair]) =>
    row([
      name,
      pair ? `${pair.state}${pair.nominated ? ', nominated' : ''}` : 'no pair',
      el('span', { class: 'mono small' }, candidateText(pair?.local)),
      el('span', { class: 'mono small' }, candidateText(pair?.remote)),
      pair?.local?.relayProtocol ?? '–',
      pair?.rttMs === undefined ? '–' : `${Math.round(pair.rttMs)} ms`,
      pair ? `${pair.bytesSent ?? 0} / ${pair.bytesReceived ?? 0}` : '–',
    ]),
  );
  fillTable(byId('relay-details').querySelector('tbody'), rows, 'No candidate pairs.');
}

function setVerdict(status, text, relayProtocol) {
  const verdict = byId('verdict');
  verdict.dataset.status = status;
  verdict.dataset.relayProtocol = relayProtocol || '';
  verdict.textContent = text;
}

async function relayTest(list) {
  const iceServers = list.get();
  const button = byId('relay-test-start');
  const log = byId('relay-log');
  log.textContent = '';
  button.disabled = true;
  setVerdict('running', 'Connecting two relay-only peers…');
  try {
    const result = await runRelayTest({
      iceServers,
      timeoutMs: RELAY_TEST_TIMEOUT_MS,
      onLog: (line) => log.append(`${line}\n`),
    });
    renderRelayDetails(result);
    for (const e of result.candidateErrors)
      log.append(`${e.pc} icecandidateerror ${e.errorCode} ${e.errorText} (${e.url})\n`);
    if (result.ok) {
      setVerdict(
        'ok',
        `Relayed connection works over ${result.relayProtocol || 'an unknown protocol'} (ping/pong ${result.roundTripMs} ms).`,
        result.relayProtocol,
      );
    } else {
      const errors = result.candidateErrors.map((e) => `${e.errorCode} ${e.errorText}`);
      const unique = [...new Set(errors)].slice(0, 3);
      setVerdict(
        'fail',
        `Relayed connection failed: ${result.error}${unique.length ? ` (errors: ${unique.join('; ')})` : ''}.`,
      );
    }
  } finally {
    button.disabled = false;
  }
}

function main() {
  const list = createServerList({
    onPolicy: setPolicy,
    onChange: (servers) => {
      renderVerdicts(servers, undefined);
      if (byId('verdict').dataset.status !== 'running') {
        setVerdict('idle', 'Not run yet with these servers.');
        fillTable(byId('relay-details').querySelector('tbody'), [], 'Not run yet.');
      }
    },
  });
  loadHandoff(list, setPolicy);
  initCredentialsForm(list, setPolicy);
  const control = { signal: undefined };
  byId('gather-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (list.get().length === 0) list.status('Add at least one ICE server first.', 'warn');
    void gather(list, control);
  });
  byId('gather-stop').addEventListener('click', () => {
    if (control.signal) control.signal.stopped = true;
  });
  byId('relay-test-start').addEventListener('click', () => {
    if (list.get().length === 0) {
      setVerdict('fail', 'Add at least one TURN server first.');
      return;
    }
    void relayTest(list);
  });
  fillTable(byId('candidates-table').querySelector('tbody'), [], 'Not run yet.');
  fillTable(byId('errors-table').querySelector('tbody'), [], 'Not run yet.');
  fillTable(byId('relay-details').querySelector('tbody'), [], 'Not run yet.');
}

main();
