/**
 * Shared helpers of the console, the diagnostics page and the demo call: the API client (bearer
 * token, RFC 9457 problem details), DOM construction without HTML strings, formatting, and the
 * selected candidate pair of a peer connection's stats.
 * @module
 */

/** sessionStorage key of the admin token (cleared when the tab closes). */
export const TOKEN_KEY = 'cloudproxy.adminToken';

/** sessionStorage key under which the console hands ICE servers to the diagnostics page. */
export const ICE_HANDOFF_KEY = 'cloudproxy.diagnostics.iceConfig';

/** The cloud proxy modes an app, a reservation or a client can use. */
export const PROXY_MODES = ['auto', 'force-udp', 'force-tcp'];

/** An API refusal: HTTP status plus the problem document's `code`, `title` and `detail`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, title?: string, detail?: string }} problem
   */
  constructor(status, problem) {
    const what = problem.detail || problem.title || `HTTP ${status}`;
    super(problem.code ? `${what} (${problem.code})` : what);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code || `http-${status}`;
  }
}

async function problemOf(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      return { title: `HTTP ${response.status} with a malformed JSON body` };
    }
  }
  const text = (await response.text()).trim();
  return { title: text.slice(0, 200) || `HTTP ${response.status} ${response.statusText}` };
}

/**
 * Calls the control plane API. `body` is sent as JSON; answers are parsed by content type
 * (JSON, else text), 204 gives undefined. Throws {@link ApiError} for any non-2xx answer.
 * @param {string} path e.g. `/api/v1/apps`
 * @param {{ method?: string, body?: unknown, token?: string, raw?: boolean }} [options]
 *   `raw: true` returns the Response itself (for downloads).
 */
export async function apiRequest(path, options = {}) {
  const headers = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const init = { method: options.method || 'GET', headers, cache: 'no-store' };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (options.raw) return response;
  if (response.status === 204) return undefined;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/**
 * Creates an element. `attrs`: `class`, `text` (textContent), `dataset` (object), `on<event>`
 * (listener), booleans as present/absent attributes, anything else as a string attribute.
 * Children are nodes or strings (always text, never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node|string|number|null|undefined)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, ...children);
  return node;
}

/** Appends nodes or text to `parent` (null and undefined are skipped). */
export function append(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined) continue;
    parent.append(typeof child === 'object' ? child : String(child));
  }
}

/** Removes every child of `node`, then appends `children`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, ...children);
}

/** The element with this id; throws naming the id when the page lacks it. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page element #${id} is missing`);
  return node;
}

/** A table row of cells (strings, numbers or nodes). */
export function row(cells, attrs = {}) {
  return el('tr', attrs, ...cells.map((cell) => el('td', {}, cell)));
}

/** Fills a `<tbody>` with rows, or one row spanning all columns saying `emptyText`. */
export function fillTable(tbody, rows, emptyText) {
  if (rows.length > 0) {
    replaceChildren(tbody, ...rows);
    return;
  }
  const columns = tbody.closest('table')?.querySelectorAll('thead th').length || 1;
  replaceChildren(tbody, el('tr', {}, el('td', { class: 'empty', colspan: columns }, emptyText)));
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** `1536` → `1.5 kB` (powers of 1000, as transfer volumes are billed). */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '–';
  let value = Math.abs(n);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${n < 0 ? '-' : ''}${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** A date-time (ISO string or epoch ms) in the browser's locale, or `–`. */
export function formatTime(value) {
  if (value === undefined || value === null || value === '') return '–';
  const date = new Date(typeof value === 'number' ? value : String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** Today (UTC) minus `days`, as `YYYY-MM-DD`. */
export function isoDay(days = 0) {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/** Offers `blob` to the user as a file download named `filename`. */
export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename, class: 'hidden-link' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Shows `message` in a status element with a kind (`info`, `ok`, `error`); empty hides it. */
export function setStatus(node, message, kind = 'info') {
  node.textContent = message;
  node.dataset.kind = kind;
  node.hidden = !message;
}

/** Copies text to the clipboard, reporting success in `button`'s label for a moment. */
export async function copyText(text, button) {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed: select and copy';
  }
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

/** A form's named text fields as an object of trimmed strings (checkboxes: see `checked`). */
export function formValues(form) {
  const values = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (typeof value === 'string') values[key] = value.trim();
  }
  return values;
}

/** Values of the checked checkboxes named `name` in `form`. */
export function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[type="checkbox"][name="${name}"]`)]
    .filter((box) => box.checked)
    .map((box) => box.value);
}

/**
 * The selected candidate pair of an `RTCStatsReport`: the one a transport names, else the
 * nominated, succeeded pair (browsers without transport stats). Undefined before one is chosen.
 */
export function selectedCandidatePair(report) {
  for (const stats of report.values()) {
    if (stats.type !== 'transport' || !stats.selectedCandidatePairId) continue;
    const pair = report.get(stats.selectedCandidatePairId);
    if (pair) return pair;
  }
  return [...report.values()].find(
    (stats) => stats.type === 'candidate-pair' && stats.nominated && stats.state === 'succeeded',
  );
}
