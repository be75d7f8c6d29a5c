import { login, providers } from './api.js';
import { el, fill, notice } from './dom.js';

/** The sign-in form; `next` is the view to come back to, `error` why the last sign-in failed (from the link). */
export function loginView(main, done, next, error) {
  const user = el('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = el('div', { id: 'login-message' });
  const submit = el('button', { type: 'submit', id: 'login-submit' }, 'Sign in');
  const form = el('form', { class: 'login', 'aria-labelledby': 'login-title', onsubmit: async event => {
    event.preventDefault();
    submit.disabled = true;
    fill(message);
    try {
      await login(user.value.trim(), password.value);
      password.value = '';
      done();
    } catch (e) {
      fill(message, notice(e.status === 401 ? 'Wrong user name or password.' : e.message));
      password.select();
    } finally {
      submit.disabled = false;
    }
  } },
  el('h1', { id: 'login-title' }, 'Sign in to kmc'),
  el('label', { for: 'username' }, 'User name'), user,
  el('label', { for: 'password' }, 'Password'), password,
  submit, message,
  el('p', { class: 'hint' }, 'The first admin\'s password is in kmc-data/initial-admin-password on the hub.'));
  fill(main, form);
  if (error) fill(message, notice(error));
  user.focus();
  // With an OIDC issuer configured, a button that goes there (and comes back to `next`).
  providers().then(answer => {
    if (!answer || !answer.oidc || !answer.oidc.browser) return;
    let issuer = answer.oidc.issuer;
    try { issuer = new URL(issuer).host; } catch (e) { /* shown as configured */ }
    const go = el('a', { id: 'login-oidc', class: 'button',
      href: `${answer.oidc.browser}?then=${encodeURIComponent(next || '#/fleet')}` }, `Sign in with ${issuer}`);
    form.insertBefore(el('p', { class: 'login-alternative' }, go), form.querySelector('.hint'));
  }).catch(() => {});
  return null;
}
