/**
 * Capacity reservations of one app, per region: the table and the edit form
 * (`PUT /api/v1/apps/{appId}/reservations/{region}`).
 * @module
 */
import { PROXY_MODES, el, fillTable, formValues, row } from './common.js';

const QUALITIES = ['audio', '360p', '480p', '720p', '1080p'];
const NUMBER_FIELDS = [
  ['maxChannels', 'Max channels'],
  ['maxUsersPerChannel', 'Max users / channel'],
  ['maxProxyUsersPerChannel', 'Max proxy users / channel'],
];

function reservationsPath(appId, region = '') {
  const base = `/api/v1/apps/${encodeURIComponent(appId)}/reservations`;
  return region ? `${base}/${encodeURIComponent(region)}` : base;
}

function select(name, values, selected) {
  return el(
    'select',
    { name },
    ...values.map((value) => el('option', { value, selected: value === selected }, value)),
  );
}

function editForm(ctx, app, status, reload) {
  const form = el(
    'form',
    { class: 'inline', id: 'reservation-form' },
    el(
      'label',
      {},
      'Region',
      el('input', {
        name: 'region',
        type: 'text',
        required: true,
        value: app.regions?.[0] || 'default',
      }),
    ),
    ...NUMBER_FIELDS.map(([name, label]) =>
      el(
        'label',
        {},
        label,
        el('input', { name, type: 'number', min: 0, required: true, value: 10 }),
      ),
    ),
    el('label', {}, 'Video quality', select('videoQuality', QUALITIES, '720p')),
    el('label', {}, 'Mode', select('mode', PROXY_MODES, 'auto')),
    el('button', { type: 'submit' }, 'Save reservation'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const body = { videoQuality: values.videoQuality, mode: values.mode };
    for (const [name] of NUMBER_FIELDS) body[name] = Number(values[name]);
    try {
      await ctx.api(reservationsPath(app.appId, values.region), { method: 'PUT', body });
      await reload();
      ctx.status(`Reservation for region "${values.region}" saved.`, 'ok');
    } catch (err) {
      ctx.fail(err, status);
    }
  });
  return form;
}

/** Puts a reservation's values into the edit form. */
function fillForm(form, reservation) {
  for (const name of ['region', 'videoQuality', 'mode', ...NUMBER_FIELDS.map(([n]) => n)]) {
    const field = form.elements.namedItem(name);
    if (field && reservation[name] !== undefined) field.value = String(reservation[name]);
  }
  form.scrollIntoView({ block: 'nearest' });
}

/** Builds the reservations block of an app's detail panel; `reload()` re-renders the panel. */
export async function reservationsPanel(ctx, app, status, reload) {
  const answer = await ctx.api(reservationsPath(app.appId));
  const form = editForm(ctx, app, status, reload);
  const tbody = el('tbody');
  const rows = (answer?.reservations || []).map((reservation) =>
    row([
      el('strong', {}, reservation.region),
      ...NUMBER_FIELDS.map(([name]) => String(reservation[name] ?? '–')),
      reservation.videoQuality,
      reservation.mode,
      el(
        'div',
        { class: 'actions' },
        el(
          'button',
          {
            type: 'button',
            class: 'button-secondary button-small',
            onclick: () => fillForm(form, reservation),
          },
          'Edit',
        ),
        el(
          'button',
          {
            type: 'button',
            class: 'button-danger button-small',
            onclick: async () => {
              if (!window.confirm(`Delete the reservation of region "${reservation.region}"?`)) {
                return;
              }
              try {
                await ctx.api(reservationsPath(app.appId, reservation.region), {
                  method: 'DELETE',
                });
                await reload();
              } catch (err) {
                ctx.fail(err, status);
              }
            },
          },
          'Delete',
        ),
      ),
    ]),
  );
  const headings = ['Region', ...NUMBER_FIELDS.map(([, label]) => label), 'Quality', 'Mode', ''];
  const table = el(
    'table',
    { id: 'reservations-table' },
    el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', {}, h)))),
    tbody,
  );
  fillTable(tbody, rows, 'No reservations: the app runs without capacity limits.');
  return el(
    'div',
    {},
    el('h3', {}, 'Capacity reservations'),
    el('div', { class: 'table-wrap' }, table),
    el('p', { class: 'muted small' }, 'Create or replace the reservation of a region:'),
    form,
  );
}
