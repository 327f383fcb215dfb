/**
 * Console section "Apps": the list of apps, the create form, and the detail panel of the app
 * being managed (see console-app-detail.js).
 * @module
 */
import { byId, checkedValues, el, fillTable, formValues, formatTime, row } from './common.js';
import { showAppDetail } from './console-app-detail.js';

/** Splits "a, b c" into ['a', 'b', 'c']. */
function splitList(text) {
  return String(text || '')
    .split(/[\s,]+/)
    .filter(Boolean);
}

function statusBadge(app) {
  return app.enabled
    ? el('span', { class: 'badge badge-ok' }, 'enabled')
    : el('span', { class: 'badge badge-error' }, 'disabled');
}

function renderApps(ctx, state) {
  const rows = ctx.apps.map((app) =>
    row(
      [
        el('strong', {}, app.name),
        el('code', {}, app.appId),
        statusBadge(app),
        (app.modes || []).join(', '),
        (app.regions || []).join(', ') || el('span', { class: 'muted' }, 'all'),
        formatTime(app.createdAt),
        el(
          'button',
          {
            type: 'button',
            class: 'button-secondary button-small',
            dataset: { manage: app.appId },
            onclick: () => {
              state.selected = app.appId;
              renderApps(ctx, state);
              void showAppDetail(ctx, app.appId);
            },
          },
          'Manage',
        ),
      ],
      {
        class: app.appId === state.selected ? 'selected' : undefined,
        dataset: { appId: app.appId },
      },
    ),
  );
  fillTable(byId('apps-table').querySelector('tbody'), rows, 'No apps yet: create one above.');
}

async function createApp(ctx, form, state) {
  const values = formValues(form);
  const body = { name: values.name, modes: checkedValues(form, 'modes') };
  const regions = splitList(values.regions);
  if (regions.length) body.regions = regions;
  try {
    const app = await ctx.api('/api/v1/apps', { method: 'POST', body });
    form.reset();
    ctx.status(`App "${app.name}" created (${app.appId}).`, 'ok');
    state.selected = app.appId;
    await ctx.refreshApps();
    await showAppDetail(ctx, app.appId);
  } catch (err) {
    ctx.fail(err);
  }
}

/** Wires the Apps section; returns its controller. */
export function initApps(ctx) {
  const state = { selected: undefined };
  ctx.onAppsChanged(() => renderApps(ctx, state));
  const form = byId('app-create-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void createApp(ctx, form, state);
  });
  byId('apps-refresh').addEventListener('click', () => {
    ctx.refreshApps().catch((err) => ctx.fail(err));
  });
  return {};
}
