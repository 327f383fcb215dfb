/**
 * The ICE server list of the diagnostics page: the table, adding and removing servers, loading
 * a pasted JSON configuration, the hand-off from the console's credentials tester, and fresh
 * credentials from the API.
 * @module
 */
import {
  ApiError,
  ICE_HANDOFF_KEY,
  TOKEN_KEY,
  apiRequest,
  byId,
  el,
  fillTable,
  formValues,
  replaceChildren,
  row,
  setStatus,
} from './common.js';
import { parseIceUrl } from './diag-gather.js';

/** Checks and normalises one RTCIceServer; throws naming the field that is wrong. */
function checkServer(server, index) {
  if (!server || typeof server !== 'object')
    throw new Error(`iceServers[${index}] is not an object`);
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls ?? server.url];
  if (urls.length === 0 || urls.some((url) => typeof url !== 'string' || !parseIceUrl(url))) {
    throw new Error(`iceServers[${index}].urls must be stun:, stuns:, turn: or turns: URLs`);
  }
  const checked = { urls };
  if (server.username !== undefined) checked.username = String(server.username);
  if (server.credential !== undefined) checked.credential = String(server.credential);
  return checked;
}

/**
 * Parses a pasted configuration: an `iceServers` array, one server, or an object with
 * `iceServers` (and optionally `iceTransportPolicy`). Throws with the reason.
 */
function parseIceJson(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const list = Array.isArray(value)
    ? value
    : Array.isArray(value?.iceServers)
      ? value.iceServers
      : [value];
  const policy = ['all', 'relay'].includes(value?.iceTransportPolicy)
    ? value.iceTransportPolicy
    : undefined;
  return { iceServers: list.map(checkServer), iceTransportPolicy: policy };
}

function masked(secret) {
  if (!secret) return el('span', { class: 'muted' }, '–');
  return el(
    'span',
    { class: 'mono', title: `${secret.length} characters` },
    '•'.repeat(Math.min(secret.length, 12)),
  );
}

/**
 * The server list: `get()` returns RTCIceServer objects, `set(servers, source?)` replaces them,
 * `onPolicy` is told of a policy that came with a configuration, `onChange` of every change.
 */
export function createServerList({ onPolicy, onChange }) {
  let servers = [];
  const status = byId('servers-status');
  const render = () => {
    const rows = servers.map((server, index) =>
      row(
        [
          el('div', {}, ...server.urls.map((url) => el('div', { class: 'mono' }, url))),
          el('span', { class: 'mono' }, server.username || '–'),
          masked(server.credential),
          el(
            'button',
            {
              type: 'button',
              class: 'button-danger button-small',
              onclick: () => {
                servers = servers.filter((_, i) => i !== index);
                render();
              },
            },
            'Remove',
          ),
        ],
        { dataset: { index: String(index) } },
      ),
    );
    fillTable(
      byId('servers-table').querySelector('tbody'),
      rows,
      'No servers: add one, paste JSON or get fresh credentials.',
    );
    onChange?.(servers);
  };
  const list = {
    get: () => servers.map((server) => ({ ...server, urls: [...server.urls] })),
    set(next, source) {
      servers = next.map(checkServer);
      const note = byId('servers-source');
      note.textContent = source || '';
      note.hidden = !source;
      render();
    },
    status: (message, kind) => setStatus(status, message, kind),
  };
  const form = byId('server-add-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form);
    try {
      const server = checkServer(
        {
          urls: values.urls.split(/[\s,]+/).filter(Boolean),
          username: values.username || undefined,
          credential: values.credential || undefined,
        },
        servers.length,
      );
      servers = [...servers, server];
      form.reset();
      list.status('');
      render();
    } catch (err) {
      list.status(err.message, 'error');
    }
  });
  byId('servers-json-load').addEventListener('click', () => {
    try {
      const parsed = parseIceJson(byId('servers-json').value);
      list.set(parsed.iceServers, 'Loaded from pasted JSON.');
      if (parsed.iceTransportPolicy) onPolicy(parsed.iceTransportPolicy);
      list.status(`${parsed.iceServers.length} server(s) loaded.`, 'ok');
    } catch (err) {
      list.status(`Cannot load this JSON: ${err.message}`, 'error');
    }
  });
  byId('servers-clear').addEventListener('click', () => list.set([]));
  render();
  return list;
}

/** Prefills the fresh-credentials form with the app, channel, uid and mode of a hand-off. */
function prefillCredentialsForm(source) {
  const form = byId('creds-form');
  for (const name of ['appId', 'channel', 'uid', 'mode']) {
    const field = form.elements.namedItem(name);
    if (field && typeof source[name] === 'string' && source[name]) field.value = source[name];
  }
}

/** Loads the configuration the console's credentials tester left in sessionStorage, if any. */
export function loadHandoff(list, onPolicy) {
  const stored = sessionStorage.getItem(ICE_HANDOFF_KEY);
  if (!stored) return false;
  try {
    const parsed = parseIceJson(stored);
    const source = JSON.parse(stored).source || {};
    const what = [
      source.appId && `app ${source.appId}`,
      source.channel && `channel ${source.channel}`,
      source.uid && `uid ${source.uid}`,
      source.mode && `mode ${source.mode}`,
    ].filter(Boolean);
    const until = source.expiresAt
      ? `, expires ${new Date(source.expiresAt).toLocaleString()}`
      : '';
    list.set(
      parsed.iceServers,
      `From the console's credentials tester: ${what.join(', ')}${until}.`,
    );
    prefillCredentialsForm(source);
    if (parsed.iceTransportPolicy) onPolicy(parsed.iceTransportPolicy);
    return true;
  } catch (err) {
    list.status(
      `The configuration handed over by the console is unusable: ${err.message}`,
      'error',
    );
    return false;
  }
}

async function fetchCredentials(form, list, onPolicy) {
  const values = formValues(form);
  const status = byId('creds-status');
  const token = values.token || sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    setStatus(
      status,
      'Give an app API key or a client token (or log in to the console first).',
      'warn',
    );
    return;
  }
  const body = { channel: values.channel, uid: values.uid, mode: values.mode };
  if (values.ttl) body.ttl = Number(values.ttl);
  setStatus(status, 'Requesting credentials…');
  try {
    const path = `/api/v1/apps/${encodeURIComponent(values.appId)}/credentials`;
    const answer = await apiRequest(path, { method: 'POST', body, token });
    list.set(
      answer.iceServers,
      `Fresh credentials for app ${values.appId}, channel ${values.channel}, uid ${values.uid} (mode ${answer.mode ?? values.mode}), expire ${answer.expiresAt ?? 'later'}.`,
    );
    if (answer.iceTransportPolicy) onPolicy(answer.iceTransportPolicy);
    setStatus(status, `Credentials received: ${answer.iceServers.length} server(s).`, 'ok');
  } catch (err) {
    const hint =
      err instanceof ApiError && err.status === 401 ? ' The key or token was refused.' : '';
    setStatus(status, `${err.message}.${hint}`, 'error');
  }
}

/** Wires the fresh-credentials form; with an admin token in this tab, offers the app IDs. */
export function initCredentialsForm(list, onPolicy) {
  const form = byId('creds-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void fetchCredentials(form, list, onPolicy);
  });
  const admin = sessionStorage.getItem(TOKEN_KEY);
  if (!admin) return;
  form.elements.namedItem('token').placeholder = 'admin token if empty';
  apiRequest('/api/v1/apps', { token: admin })
    .then((answer) => {
      const options = (answer?.apps || []).map((app) =>
        el('option', { value: app.appId }, app.name),
      );
      replaceChildren(byId('creds-apps'), ...options);
    })
    .catch((err) =>
      setStatus(byId('creds-status'), `Apps cannot be listed: ${err.message}`, 'warn'),
    );
}
