// The console's shell: routes by the URL's fragment (every view is a shareable link), keeps the
// theme, shows the live connection, and hides what the user may not do.

import { signedIn, currentUser, logout, onSignedOut, canI, oidcLogin } from './api.js';
import { onConnectionState } from './live.js';
import { fill, notice } from './dom.js';
import { loginView } from './view-login.js';
import { fleetView } from './view-fleet.js';
import { searchView } from './view-search.js';
import { resourceView } from './view-resource.js';
import { logsView } from './view-logs.js';
import { execView } from './view-exec.js';
import { propagationsView } from './view-propagations.js';
import { auditView } from './view-audit.js';

const views = {
  fleet: fleetView,
  search: searchView,
  r: resourceView,
  logs: logsView,
  exec: execView,
  propagations: propagationsView,
  audit: auditView,
};

const main = document.getElementById('main');
let leave = null; // the current view's clean-up (closes its subscriptions and followed logs)
let pendingRoute = null;

/** The route of a fragment: "#/search?kind=deployments" -> {view: "search", parts: [], params}. */
export function parseRoute(hash) {
  const text = hash.replace(/^#\/?/, '');
  const [path, search = ''] = text.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'fleet', parts: parts.slice(1), params: new URLSearchParams(search) };
}

async function render() {
  if (leave) {
    leave();
    leave = null;
  }
  const route = parseRoute(location.hash);
  if (route.view === 'oidc') {
    // Back from the OIDC issuer: the hub's callback put a one-use code in the link. Redeem it, and take
    // it out of the address bar and the history at once.
    const then = route.params.get('then') || '#/fleet';
    history.replaceState(null, '', '#/login');
    try {
      await oidcLogin(route.params.get('handoff') || '');
      location.hash = then.startsWith('#/') && !then.startsWith('#/login') ? then : '#/fleet';
    } catch (e) {
      history.replaceState(null, '', `#/login?error=${encodeURIComponent(e.message)}`);
      render();
    }
    return;
  }
  if (!signedIn()) {
    if (route.view !== 'login') pendingRoute = location.hash;
    showShell(false);
    leave = loginView(main, () => {
      const next = pendingRoute && !pendingRoute.startsWith('#/login') ? pendingRoute : '#/fleet';
      pendingRoute = null;
      if (location.hash === next) render();
      else location.hash = next;
    }, pendingRoute, route.view === 'login' ? route.params.get('error') : null);
    return;
  }
  if (route.view === 'login') {
    location.hash = '#/fleet';
    return;
  }
  await showShell(true);
  const view = views[route.view];
  document.querySelectorAll('#nav a').forEach(a => {
    if (a.dataset.view === route.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (!view) {
    fill(main, notice(`No view "${route.view}". Start from the fleet.`));
    return;
  }
  main.replaceChildren();
  leave = view(main, route) || null;
  main.focus({ preventScroll: true });
}

async function showShell(on) {
  const nav = document.getElementById('nav');
  nav.hidden = !on;
  document.getElementById('logout').hidden = !on;
  document.getElementById('who').textContent = on ? currentUser() || '' : '';
  if (!on) return;
  const gated = [...nav.querySelectorAll('a[data-needs]')];
  const allowed = await canI(gated.map(a => ({ resource: a.dataset.needs, verb: 'list' })));
  gated.forEach((a, i) => { a.hidden = !allowed[i]; });
}

function setupTheme() {
  const button = document.getElementById('theme');
  const prefersDark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  let theme = prefersDark ? 'dark' : 'light';
  const apply = () => {
    document.documentElement.dataset.theme = theme;
    button.textContent = theme === 'dark' ? 'Light theme' : 'Dark theme';
  };
  button.addEventListener('click', () => {
    theme = theme === 'dark' ? 'light' : 'dark';
    apply();
  });
  apply();
}

function setupLiveIndicator() {
  const indicator = document.getElementById('live');
  const text = { off: 'offline', connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' };
  onConnectionState(state => {
    indicator.dataset.state = state;
    indicator.textContent = text[state] || state;
    indicator.title = state === 'live' ? 'Updates arrive as the clusters change' : 'Not receiving updates now';
  });
}

/** g then f/s/p/a moves between views; "/" goes to the search box of the view, if it has one. */
function setupKeys() {
  let leader = false;
  document.addEventListener('keydown', event => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement
        || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === '/') {
      const box = main.querySelector('input[type=search], input');
      if (box) {
        event.preventDefault();
        box.focus();
      }
      return;
    }
    if (leader) {
      leader = false;
      const to = { f: 'fleet', s: 'search', p: 'propagations', a: 'audit' }[event.key];
      if (to && signedIn()) location.hash = `#/${to}`;
      return;
    }
    leader = event.key === 'g';
  });
}

let signingOut = false;
document.getElementById('logout').addEventListener('click', () => {
  signingOut = true;
  logout().catch(() => {});
});
onSignedOut(() => {
  // A session that ended by itself (revoked, expired) comes back to where it was after signing in again;
  // one the user ended starts afresh (the next user may see other views).
  pendingRoute = signingOut || location.hash.startsWith('#/login') ? null : location.hash;
  signingOut = false;
  if (location.hash !== '#/login') history.replaceState(null, '', '#/login');
  render();
});
window.addEventListener('hashchange', render);
setupTheme();
setupLiveIndicator();
setupKeys();
render();
