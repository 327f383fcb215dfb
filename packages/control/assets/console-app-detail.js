/**
 * The detail panel of one app: settings (name, modes, regions, enabled), disable, API keys
 * (created keys are shown once), TURN secrets (rotate, retire) and capacity reservations.
 * @module
 */
import {
  PROXY_MODES,
  byId,
  checkedValues,
  copyText,
  el,
  fillTable,
  formValues,
  formatTime,
  replaceChildren,
  row,
} from './common.js';
import { reservationsPanel } from './console-reservations.js';

function appPath(appId, rest = '') {
  return `/api/v1/apps/${encodeURIComponent(appId)}${rest}`;
}

function settingsForm(ctx, app, status) {
  const modeBoxes = PROXY_MODES.map((mode) =>
    el(
      'label',
      { class: 'check' },
      el('input', {
        type: 'checkbox',
        name: 'modes',
        value: mode,
        checked: (app.modes || []).includes(mode),
      }),
      ` ${mode}`,
    ),
  );
  const form = el(
    'form',
    { class: 'inline', id: 'app-settings-form' },
    el(
      'label',
      {},
      'Name',
      el('input', { name: 'name', type: 'text', value: app.name, required: true }),
    ),
    el('fieldset', {}, el('legend', {}, 'Modes'), ...modeBoxes),
    el(
      'label',
      {},
      'Regions',
      el('input', { name: 'regions', type: 'text', value: (app.regions || []).join(', ') }),
    ),
    el(
      'label',
      { class: 'check' },
      el('input', { type: 'checkbox', name: 'enabled', value: 'yes', checked: app.enabled }),
      ' Enabled',
    ),
    el('button', { type: 'submit' }, 'Save'),
    el(
      'button',
      {
        type: 'button',
        class: 'button-danger',
        disabled: !app.enabled,
        onclick: () => void disableApp(ctx, app, status),
      },
      'Disable app',
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form);
    const body = {
      name: values.name,
      modes: checkedValues(form, 'modes'),
      regions: String(values.regions || '')
        .split(/[\s,]+/)
        .filter(Boolean),
      enabled: checkedValues(form, 'enabled').length > 0,
    };
    void saveApp(ctx, app.appId, body, status);
  });
  return form;
}

async function saveApp(ctx, appId, body, status) {
  try {
    await ctx.api(appPath(appId), { method: 'PATCH', body });
    await ctx.refreshApps();
    await showAppDetail(ctx, appId);
    ctx.status('App settings saved.', 'ok');
  } catch (err) {
    ctx.fail(err, status);
  }
}

async function disableApp(ctx, app, status) {
  const sure = window.confirm(
    `Disable "${app.name}"? Its clients will no longer get credentials (usage history is kept).`,
  );
  if (!sure) return;
  try {
    await ctx.api(appPath(app.appId), { method: 'DELETE' });
    await ctx.refreshApps();
    await showAppDetail(ctx, app.appId);
    ctx.status(`App "${app.name}" disabled.`, 'ok');
  } catch (err) {
    ctx.fail(err, status);
  }
}

function newKeyBox(created) {
  const copy = el('button', { type: 'button', class: 'button-secondary button-small' }, 'Copy');
  copy.addEventListener('click', () => void copyText(created.key, copy));
  return el(
    'div',
    { class: 'secret-box', id: 'new-api-key-box' },
    el('strong', {}, 'New API key: copy it now, it is shown only once.'),
    el('code', { id: 'new-api-key', dataset: { keyId: created.keyId } }, created.key),
    copy,
  );
}

async function keysPanel(ctx, appId, status) {
  const answer = await ctx.api(appPath(appId, '/keys'));
  const slot = el('div', { id: 'new-api-key-slot' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { id: 'keys-table' },
    el(
      'thead',
      {},
      el('tr', {}, ...['Key ID', 'Label', 'Created', 'Last used', ''].map((h) => el('th', {}, h))),
    ),
    tbody,
  );
  const reload = () => showAppDetail(ctx, appId);
  const rows = (answer?.keys || []).map((key) =>
    row([
      el('code', {}, key.keyId),
      key.label || el('span', { class: 'muted' }, '–'),
      formatTime(key.createdAt),
      key.lastUsedAt ? formatTime(key.lastUsedAt) : el('span', { class: 'muted' }, 'never'),
      el(
        'button',
        {
          type: 'button',
          class: 'button-danger button-small',
          onclick: async () => {
            if (!window.confirm(`Delete API key ${key.keyId}? Servers using it stop working.`)) {
              return;
            }
            try {
              await ctx.api(appPath(appId, `/keys/${encodeURIComponent(key.keyId)}`), {
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
    ]),
  );
  fillTable(tbody, rows, 'No API keys.');
  const form = el(
    'form',
    { class: 'inline', id: 'key-create-form' },
    el('label', {}, 'Label', el('input', { name: 'label', type: 'text', placeholder: 'backend' })),
    el('button', { type: 'submit' }, 'Create API key'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const label = formValues(form).label;
    try {
      const created = await ctx.api(appPath(appId, '/keys'), {
        method: 'POST',
        body: label ? { label } : {},
      });
      await reload();
      replaceChildren(byId('new-api-key-slot'), newKeyBox(created));
    } catch (err) {
      ctx.fail(err, status);
    }
  });
  return el(
    'div',
    {},
    el('h3', {}, 'API keys'),
    form,
    slot,
    el('div', { class: 'table-wrap' }, table),
  );
}

async function secretsPanel(ctx, appId, status) {
  const answer = await ctx.api(appPath(appId, '/secrets'));
  const secrets = answer?.secrets || [];
  const tbody = el('tbody');
  const rows = secrets.map((secret, index) =>
    row([
      el('code', {}, secret.secretId),
      formatTime(secret.createdAt),
      index === 0 ? el('span', { class: 'badge badge-ok' }, 'newest (signs)') : 'accepted',
      el(
        'button',
        {
          type: 'button',
          class: 'button-danger button-small',
          disabled: secrets.length < 2,
          title: secrets.length < 2 ? 'The last secret cannot be retired' : undefined,
          onclick: async () => {
            const ok = window.confirm(
              `Retire secret ${secret.secretId}? Credentials signed with it stop working.`,
            );
            if (!ok) return;
            try {
              await ctx.api(appPath(appId, `/secrets/${encodeURIComponent(secret.secretId)}`), {
                method: 'DELETE',
              });
              await showAppDetail(ctx, appId);
            } catch (err) {
              ctx.fail(err, status);
            }
          },
        },
        'Retire',
      ),
    ]),
  );
  const rotate = el('button', { type: 'button', class: 'button-secondary' }, 'Rotate secret');
  rotate.addEventListener('click', async () => {
    try {
      await ctx.api(appPath(appId, '/secrets'), { method: 'POST', body: {} });
      await showAppDetail(ctx, appId);
      ctx.status('A new TURN secret now signs credentials; older ones stay valid.', 'ok');
    } catch (err) {
      ctx.fail(err, status);
    }
  });
  const table = el(
    'table',
    { id: 'secrets-table' },
    el(
      'thead',
      {},
      el('tr', {}, ...['Secret ID', 'Created', 'Role', ''].map((h) => el('th', {}, h))),
    ),
    tbody,
  );
  fillTable(tbody, rows, 'No TURN secrets.');
  return el(
    'div',
    {},
    el('h3', {}, 'TURN secrets'),
    el(
      'p',
      { class: 'muted small' },
      'Credentials are signed with the newest secret; every listed secret is accepted until it is retired, so rotation never breaks a live call.',
    ),
    rotate,
    el('div', { class: 'table-wrap' }, table),
  );
}

/** Loads app `appId` and renders its detail panel into `#app-detail`. */
export async function showAppDetail(ctx, appId) {
  const panel = byId('app-detail');
  const status = el('p', { class: 'status', hidden: true });
  try {
    const app = await ctx.api(appPath(appId));
    const [keys, secrets, reservations] = await Promise.all([
      keysPanel(ctx, appId, status),
      secretsPanel(ctx, appId, status),
      reservationsPanel(ctx, app, status, () => showAppDetail(ctx, appId)),
    ]);
    const close = el('button', { type: 'button', class: 'button-secondary button-small' }, 'Close');
    close.addEventListener('click', () => {
      panel.hidden = true;
    });
    replaceChildren(
      panel,
      el(
        'div',
        { class: 'card-head' },
        el('h2', {}, `${app.name} `, el('code', { class: 'muted small' }, app.appId)),
        close,
      ),
      status,
      settingsForm(ctx, app, status),
      keys,
      secrets,
      reservations,
    );
    panel.dataset.appId = app.appId;
    panel.hidden = false;
  } catch (err) {
    replaceChildren(panel, status);
    panel.hidden = false;
    ctx.fail(err, status);
  }
}
