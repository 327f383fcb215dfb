/**
 * Console sections "IP allowlist" (the public table of relay addresses and ports, with links to
 * its CSV and text forms) and "Usage reports" (per channel and day, with a CSV download through
 * the API's `format=csv`).
 * @module
 */
import {
  byId,
  downloadBlob,
  el,
  fillTable,
  formValues,
  formatBytes,
  isoDay,
  replaceChildren,
  row,
  setStatus,
} from './common.js';

const TRANSPORTS = ['udp', 'tcp', 'tls'];

function portsText(entry) {
  return entry.portRange ?? (Array.isArray(entry.ports) ? entry.ports.join(', ') : entry.port);
}

async function refreshAllowlist(ctx) {
  const status = byId('allowlist-status');
  try {
    const answer = await ctx.api('/api/v1/allowlist?format=json');
    const rows = [];
    const domains = new Set();
    for (const region of answer?.regions || []) {
      for (const domain of region.domains || []) domains.add(domain);
      for (const relay of region.relays || []) {
        for (const entry of relay.ports || []) {
          rows.push(
            row([
              region.region,
              el('code', {}, relay.address),
              el('span', { class: 'badge' }, entry.protocol),
              el('code', {}, String(portsText(entry) ?? '–')),
            ]),
          );
        }
      }
    }
    fillTable(byId('allowlist-table').querySelector('tbody'), rows, 'No relays are configured.');
    const items = [...domains].map((domain) => el('li', {}, domain));
    replaceChildren(
      byId('allowlist-domains'),
      ...(items.length ? items : [el('li', { class: 'muted' }, 'none')]),
    );
    setStatus(status, '');
  } catch (err) {
    ctx.fail(err, status);
  }
}

/** Wires the IP allowlist section; returns its controller. */
export function initAllowlist(ctx) {
  return { show: () => void refreshAllowlist(ctx) };
}

/** Bytes of one direction and transport, whatever the row's layout (nested or flat). */
function bytesOf(usage, direction, transport) {
  const nested = usage[direction];
  if (nested && typeof nested === 'object') return nested[transport];
  const flat = usage[`${direction}${transport[0].toUpperCase()}${transport.slice(1)}`];
  return flat ?? (transport === 'udp' ? nested : undefined);
}

function usageRows(answer) {
  if (Array.isArray(answer)) return answer;
  return answer?.usage || answer?.rows || answer?.days || [];
}

function relayMinutes(value) {
  const n = Number(value ?? 0);
  return n === 0 || n >= 10 ? n.toFixed(n === 0 ? 0 : 1) : n.toFixed(2);
}

function numCell(text) {
  return el('span', { class: 'num' }, text);
}

function usageRow(usage) {
  const cells = [
    usage.day ?? usage.date ?? '–',
    usage.channel ?? el('span', { class: 'muted' }, 'all'),
    numCell(String(usage.allocations ?? 0)),
    numCell(relayMinutes(usage.relayMinutes)),
    ...TRANSPORTS.map((t) => numCell(formatBytes(bytesOf(usage, 'bytesIn', t) ?? 0))),
    ...TRANSPORTS.map((t) => numCell(formatBytes(bytesOf(usage, 'bytesOut', t) ?? 0))),
    numCell(String(usage.peakProxyUsers ?? 0)),
  ];
  const tr = row(cells);
  for (const td of [...tr.children].slice(2)) td.classList.add('num');
  return tr;
}

function usageQuery(values, format) {
  const query = new URLSearchParams({ from: values.from, to: values.to, format });
  if (values.channel) query.set('channel', values.channel);
  return `/api/v1/apps/${encodeURIComponent(values.appId)}/usage?${query}`;
}

function usageValues(status) {
  const values = formValues(byId('usage-form'));
  if (!values.appId) {
    setStatus(status, 'Create an app first (section Apps).', 'warn');
    return undefined;
  }
  if (values.from > values.to) {
    setStatus(status, `"From" (${values.from}) is after "to" (${values.to}).`, 'error');
    return undefined;
  }
  return values;
}

async function showUsage(ctx) {
  const status = byId('usage-status');
  const values = usageValues(status);
  if (!values) return;
  try {
    const rows = usageRows(await ctx.api(usageQuery(values, 'json')));
    const tbody = byId('usage-table').querySelector('tbody');
    fillTable(tbody, rows.map(usageRow), 'No usage in this period.');
    setStatus(
      status,
      `${rows.length} ${rows.length === 1 ? 'row' : 'rows'} for ${ctx.appName(values.appId)}, ${values.from} to ${values.to}.`,
      'ok',
    );
  } catch (err) {
    ctx.fail(err, status);
  }
}

async function downloadUsage(ctx) {
  const status = byId('usage-status');
  const values = usageValues(status);
  if (!values) return;
  try {
    const response = await ctx.api(usageQuery(values, 'csv'), { raw: true });
    const blob = new Blob([await response.text()], { type: 'text/csv;charset=utf-8' });
    downloadBlob(blob, `usage-${values.appId}-${values.from}-${values.to}.csv`);
    setStatus(status, 'CSV downloaded.', 'ok');
  } catch (err) {
    ctx.fail(err, status);
  }
}

/** Wires the Usage section; returns its controller. */
export function initUsage(ctx) {
  const form = byId('usage-form');
  form.elements.namedItem('from').value = isoDay(7);
  form.elements.namedItem('to').value = isoDay(0);
  ctx.onAppsChanged(() => ctx.fillAppSelect(form.elements.namedItem('appId')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void showUsage(ctx);
  });
  byId('usage-csv').addEventListener('click', () => void downloadUsage(ctx));
  return {};
}
