/**
 * The console page: admin-token login (kept in sessionStorage, sent as a bearer token), the
 * section navigation (`#apps`, `#credentials`, …) and the context shared by the sections: the
 * API client that returns to the login form on 401, and the list of apps.
 * @module
 */
import { ApiError, TOKEN_KEY, apiRequest, byId, el, replaceChildren, setStatus } from './common.js';
import { initApps } from './console-apps.js';
import { initCredentials } from './console-credentials.js';
import { initBandwidth, initLive } from './console-live.js';
import { initAllowlist, initUsage } from './console-reports.js';

const SECTIONS = ['apps', 'credentials', 'live', 'bandwidth', 'allowlist', 'usage'];
const DEFAULT_SECTION = 'apps';

/** Section controllers by name: `{ show?(), hide?() }`. */
const controllers = new Map();
let current;

function showLogin(message, kind = 'error') {
  for (const name of SECTIONS) controllers.get(name)?.hide?.();
  current = undefined;
  byId('console-view').hidden = true;
  byId('logout').hidden = true;
  byId('login-view').hidden = false;
  setStatus(byId('login-error'), message || '', kind);
  byId('login-token').focus();
}

/** Forgets the token and returns to the login form with `message`. */
function logout(message, kind = 'error') {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(message, kind);
}

/**
 * The context every section receives: `api()` (admin token unless `options.token` is given;
 * a 401 for the admin token logs out), the apps list and its change listeners, and a status line.
 */
function createContext() {
  const listeners = [];
  let apps = [];
  const ctx = {
    async api(path, options = {}) {
      const token = options.token || sessionStorage.getItem(TOKEN_KEY);
      if (!token) {
        showLogin('Log in with the admin token.');
        throw new ApiError(401, { code: 'unauthorized', title: 'not logged in' });
      }
      try {
        return await apiRequest(path, { ...options, token });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401 && !options.token) {
          logout('The admin token was refused (401 unauthorized). Log in again.');
        }
        throw err;
      }
    },
    get apps() {
      return apps;
    },
    async refreshApps() {
      const answer = await ctx.api('/api/v1/apps');
      apps = Array.isArray(answer?.apps) ? answer.apps : [];
      for (const listener of listeners) listener(apps);
      return apps;
    },
    onAppsChanged(listener) {
      listeners.push(listener);
      listener(apps);
    },
    /** Fills an app `<select>`, keeping its selection; `anyLabel` adds an empty "any" choice. */
    fillAppSelect(select, anyLabel) {
      const previous = select.value;
      const options = apps.map((app) =>
        el('option', { value: app.appId }, `${app.name}${app.enabled ? '' : ' (disabled)'}`),
      );
      if (anyLabel) options.unshift(el('option', { value: '' }, anyLabel));
      replaceChildren(select, ...options);
      if ([...select.options].some((option) => option.value === previous)) {
        select.value = previous;
      }
    },
    status(message, kind = 'info') {
      setStatus(byId('console-status'), message, kind);
    },
    /** Reports an error in `node` (or the page status line) unless it already logged out. */
    fail(err, node) {
      if (err instanceof ApiError && err.status === 401 && byId('console-view').hidden) return;
      const message = err instanceof Error ? err.message : String(err);
      if (node) setStatus(node, message, 'error');
      else ctx.status(message, 'error');
    },
    appName(appId) {
      return apps.find((app) => app.appId === appId)?.name || appId;
    },
  };
  return ctx;
}

function route() {
  const wanted = location.hash.slice(1);
  const name = SECTIONS.includes(wanted) ? wanted : DEFAULT_SECTION;
  if (name === current) return;
  if (current) controllers.get(current)?.hide?.();
  current = name;
  setStatus(byId('console-status'), '');
  for (const section of document.querySelectorAll('[data-section]')) {
    section.hidden = section.dataset.section !== name;
  }
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'true');
    else link.removeAttribute('aria-current');
  }
  controllers.get(name)?.show?.();
}

async function enterConsole(ctx) {
  byId('login-view').hidden = true;
  byId('console-view').hidden = false;
  byId('logout').hidden = false;
  setStatus(byId('login-error'), '');
  ctx.status('');
  current = undefined;
  route();
  try {
    await ctx.refreshApps();
  } catch (err) {
    ctx.fail(err);
  }
}

async function login(ctx, token) {
  try {
    await apiRequest('/api/v1/apps', { token });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showLogin('This admin token was refused (401 unauthorized). Check it and try again.');
    } else if (err instanceof ApiError && err.status === 403) {
      showLogin('This token is not an admin token (403 forbidden): API keys cannot log in.');
    } else {
      showLogin(`The control plane API cannot be reached: ${String(err.message || err)}`);
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  byId('login-token').value = '';
  await enterConsole(ctx);
}

function main() {
  const ctx = createContext();
  controllers.set('apps', initApps(ctx));
  controllers.set('credentials', initCredentials(ctx));
  controllers.set('live', initLive(ctx));
  controllers.set('bandwidth', initBandwidth(ctx));
  controllers.set('allowlist', initAllowlist(ctx));
  controllers.set('usage', initUsage(ctx));
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = byId('login-token').value.trim();
    if (token) void login(ctx, token);
  });
  byId('logout').addEventListener('click', () => logout('Logged out.', 'info'));
  window.addEventListener('hashchange', () => {
    if (!byId('console-view').hidden) route();
  });
  if (sessionStorage.getItem(TOKEN_KEY)) void enterConsole(ctx);
  else showLogin('');
}

main();
