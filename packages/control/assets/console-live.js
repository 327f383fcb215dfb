/**
 * Console sections "Live allocations" (a table refreshed every 5 s while visible, filtered by
 * app and channel) and "Bandwidth" (relayed bytes per 10-second sample, drawn on a canvas and
 * refreshed every 10 s while visible).
 * @module
 */
import {
  byId,
  el,
  fillTable,
  formValues,
  formatBytes,
  formatTime,
  row,
  setStatus,
} from './common.js';
import { drawLineChart } from './chart.js';

const LIVE_REFRESH_MS = 5000;
const BANDWIDTH_REFRESH_MS = 10_000;

/** `"1.2.3.4:5"`, `{ address, port }`, or separate address and port → `"1.2.3.4:5"`. */
function endpoint(value, port) {
  if (Array.isArray(value)) return value.map((item) => endpoint(item)).join(', ') || '–';
  if (value && typeof value === 'object') return endpoint(value.address, value.port);
  if (value === undefined || value === null || value === '') return '–';
  const text = String(value);
  if (port === undefined) return text;
  return text.includes(':') && !text.startsWith('[') ? `[${text}]:${port}` : `${text}:${port}`;
}

function num(value) {
  return el('span', { class: 'num' }, formatBytes(value));
}

function allocationRow(ctx, a) {
  const cells = [
    ctx.appName(a.appId),
    a.channel ?? '–',
    a.uid ?? '–',
    el('span', { class: 'badge' }, a.transport ?? '?'),
    el('span', { class: 'mono' }, endpoint(a.clientAddress ?? a.client, a.clientPort)),
    el('span', { class: 'mono' }, endpoint(a.relayedAddress ?? a.relayed, a.relayedPort)),
    num(a.bytesIn ?? a.bytesFromClient),
    num(a.bytesOut ?? a.bytesToClient),
    formatTime(a.createdAt),
    formatTime(a.expiresAt),
  ];
  const tr = row(cells, {
    dataset: { channel: String(a.channel ?? ''), uid: String(a.uid ?? '') },
  });
  tr.children[6]?.classList.add('num');
  tr.children[7]?.classList.add('num');
  return tr;
}

async function refreshLive(ctx) {
  const values = formValues(byId('live-filter'));
  const query = new URLSearchParams();
  if (values.appId) query.set('appId', values.appId);
  if (values.channel) query.set('channel', values.channel);
  const status = byId('live-status');
  try {
    const answer = await ctx.api(`/api/v1/allocations?${query}`);
    const list = Array.isArray(answer) ? answer : answer?.allocations || [];
    const tbody = byId('live-table').querySelector('tbody');
    fillTable(
      tbody,
      list.map((a) => allocationRow(ctx, a)),
      'No live allocations.',
    );
    byId('live-updated').textContent =
      `${list.length} live · updated ${new Date().toLocaleTimeString()}`;
    setStatus(status, '');
  } catch (err) {
    ctx.fail(err, status);
  }
}

/** Runs `task` now and every `periodMs` while started; `stop()` ends it. */
function poller(task, periodMs) {
  let timer;
  return {
    start() {
      this.stop();
      void task();
      timer = setInterval(() => void task(), periodMs);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** Wires the Live allocations section; returns its controller. */
export function initLive(ctx) {
  const form = byId('live-filter');
  const auto = byId('live-auto');
  const poll = poller(() => refreshLive(ctx), LIVE_REFRESH_MS);
  let visible = false;
  ctx.onAppsChanged(() => ctx.fillAppSelect(form.elements.namedItem('appId'), 'All apps'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void refreshLive(ctx);
  });
  form.addEventListener('change', (event) => {
    if (event.target === auto) {
      if (auto.checked && visible) poll.start();
      else poll.stop();
    } else void refreshLive(ctx);
  });
  return {
    show() {
      visible = true;
      if (auto.checked) poll.start();
      else void refreshLive(ctx);
    },
    hide() {
      visible = false;
      poll.stop();
    },
  };
}

/** Sample time as epoch ms (the API may give ms, seconds or an ISO string). */
function sampleTime(t) {
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  return new Date(String(t)).getTime();
}

async function refreshBandwidth(ctx, state) {
  const values = formValues(byId('bw-filter'));
  const query = new URLSearchParams({ minutes: values.minutes || '60' });
  if (values.appId) query.set('appId', values.appId);
  const status = byId('bw-status');
  try {
    const answer = await ctx.api(`/api/v1/stats/bandwidth?${query}`);
    const points = (answer?.samples || [])
      .map((s) => ({
        t: sampleTime(s.t),
        bytesIn: Number(s.bytesIn) || 0,
        bytesOut: Number(s.bytesOut) || 0,
      }))
      .filter((p) => Number.isFinite(p.t))
      .sort((a, b) => a.t - b.t);
    const now = Date.now();
    state.spec = {
      points,
      series: [
        { key: 'bytesIn', color: '#1f6feb' },
        { key: 'bytesOut', color: '#e36209' },
      ],
      unitLabel: 'bytes per 10 s',
      emptyText: 'No relayed traffic in this window',
      minT: now - Number(values.minutes || 60) * 60_000,
      maxT: now,
    };
    drawLineChart(byId('bw-chart'), state.spec);
    const totalIn = points.reduce((sum, p) => sum + p.bytesIn, 0);
    const totalOut = points.reduce((sum, p) => sum + p.bytesOut, 0);
    byId('bw-summary').textContent =
      `In ${formatBytes(totalIn)} · out ${formatBytes(totalOut)} · ${points.length} samples`;
    setStatus(status, '');
  } catch (err) {
    ctx.fail(err, status);
  }
}

/** Wires the Bandwidth section; returns its controller. */
export function initBandwidth(ctx) {
  const form = byId('bw-filter');
  const state = { spec: undefined };
  const poll = poller(() => refreshBandwidth(ctx, state), BANDWIDTH_REFRESH_MS);
  ctx.onAppsChanged(() => ctx.fillAppSelect(form.elements.namedItem('appId'), 'All apps'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void refreshBandwidth(ctx, state);
  });
  form.addEventListener('change', () => void refreshBandwidth(ctx, state));
  window.addEventListener('resize', () => {
    if (state.spec && !byId('section-bandwidth').hidden)
      drawLineChart(byId('bw-chart'), state.spec);
  });
  return {
    show: () => poll.start(),
    hide: () => poll.stop(),
  };
}
