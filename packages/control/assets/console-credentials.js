/**
 * Console section "Credentials tester": issues TURN credentials for an app, channel and uid
 * (with the admin token, or an app API key to test the key too), shows the answer, and hands
 * the ICE servers to the diagnostics page through sessionStorage.
 * @module
 */
import { ICE_HANDOFF_KEY, byId, copyText, formValues, setStatus } from './common.js';

async function issue(ctx, form, state) {
  const values = formValues(form);
  const status = byId('cred-status');
  if (!values.appId) {
    setStatus(status, 'Create an app first (section Apps).', 'warn');
    return;
  }
  const body = { channel: values.channel, uid: values.uid, mode: values.mode };
  if (values.ttl) body.ttl = Number(values.ttl);
  setStatus(status, 'Issuing…');
  try {
    const answer = await ctx.api(
      `/api/v1/apps/${encodeURIComponent(values.appId)}/credentials`,
      values.apiKey ? { method: 'POST', body, token: values.apiKey } : { method: 'POST', body },
    );
    state.answer = answer;
    state.request = { appId: values.appId, channel: values.channel, uid: values.uid };
    byId('cred-json').textContent = JSON.stringify(answer, null, 2);
    byId('cred-result').hidden = false;
    const by = values.apiKey ? 'the API key' : 'the admin token';
    const until = answer?.expiresAt ? `, valid until ${answer.expiresAt}` : '';
    setStatus(
      status,
      `Credentials issued with ${by} (mode ${answer?.mode ?? body.mode}${until}).`,
      'ok',
    );
  } catch (err) {
    byId('cred-result').hidden = true;
    ctx.fail(err, status);
  }
}

function openInDiagnostics(state) {
  if (!state.answer) return;
  const handoff = {
    iceServers: state.answer.iceServers,
    iceTransportPolicy: state.answer.iceTransportPolicy,
    source: { ...state.request, mode: state.answer.mode, expiresAt: state.answer.expiresAt },
  };
  sessionStorage.setItem(ICE_HANDOFF_KEY, JSON.stringify(handoff));
  location.assign('/diagnostics#from-console');
}

/** Wires the Credentials tester section; returns its controller. */
export function initCredentials(ctx) {
  const state = { answer: undefined, request: undefined };
  const form = byId('cred-form');
  const appSelect = form.elements.namedItem('appId');
  ctx.onAppsChanged(() => ctx.fillAppSelect(appSelect));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void issue(ctx, form, state);
  });
  byId('cred-open-diagnostics').addEventListener('click', () => openInDiagnostics(state));
  const copy = byId('cred-copy');
  copy.addEventListener('click', () => void copyText(byId('cred-json').textContent, copy));
  return {};
}
