// The hub's API, with the session held in this page's memory only (never localStorage or a cookie):
// a reload signs out, and no other site can make the browser send the token (no CSRF).

// refreshPath: where the refresh token is exchanged (the hub's own sessions, or the OIDC issuer's through the hub).
const session = { accessToken: null, refreshToken: null, user: null, refreshTimer: null, refreshPath: null };
const signedOutListeners = [];

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function currentUser() {
  return session.user;
}

export function signedIn() {
  return session.accessToken !== null;
}

export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

function keep(issued) {
  session.accessToken = issued.accessToken;
  session.refreshToken = issued.refreshToken || session.refreshToken;
  session.user = issued.user || session.user;
  clearTimeout(session.refreshTimer);
  // Renew a minute before the access token ends (at the latest half-way through a short one).
  const seconds = Number(issued.expiresIn) || 900;
  session.refreshTimer = setTimeout(refresh, Math.max(5, Math.min(seconds - 60, seconds / 2)) * 1000);
}

async function refresh() {
  if (!session.refreshToken) return;
  try {
    keep(await request('POST', session.refreshPath, { refreshToken: session.refreshToken }, false));
  } catch (e) {
    forget();
  }
}

function forget() {
  clearTimeout(session.refreshTimer);
  const was = session.accessToken !== null;
  Object.assign(session, { accessToken: null, refreshToken: null, user: null, refreshTimer: null, refreshPath: null });
  if (was) signedOutListeners.forEach(listener => listener());
}

export async function login(username, password) {
  session.refreshPath = '/api/v1/auth/refresh';
  keep(await request('POST', '/api/v1/auth/login', { username, password }, false));
  return whoami();
}

/** Signing in with the OIDC issuer: redeems the one-use code the hub's callback put in the link. */
export async function oidcLogin(handoff) {
  session.refreshPath = '/api/v1/auth/oidc/refresh';
  keep(await request('POST', '/api/v1/auth/oidc/token', { handoff }, false));
  return whoami();
}

async function whoami() {
  const me = await api('GET', '/api/v1/auth/whoami');
  session.user = me.user;
  session.kind = me.kind;
  return me;
}

/** How one may sign in here: {password: true, oidc: {issuer, browser}} (no token needed). */
export function providers() {
  return request('GET', '/api/v1/auth/providers', undefined, false);
}

export async function logout() {
  try {
    // A hub session is revoked on every node; an OIDC sign-in ends with the page's memory of it.
    if (session.kind !== 'oidc') await api('POST', '/api/v1/auth/logout');
  } finally {
    forget();
  }
}

async function request(method, path, body, withToken, contentType) {
  const headers = { Accept: 'application/json' };
  if (withToken) headers.Authorization = `Bearer ${session.accessToken}`;
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined || contentType ? body : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store',
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let answer = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch (e) {
    answer = { message: text };
  }
  if (!response.ok) {
    throw new ApiError(response.status, (answer && answer.message) || `${response.status} ${response.statusText}`);
  }
  return answer;
}

/**
 * A call with the session's token; a 401 ends the session (the token was revoked or has expired). With a
 * contentType, body is text sent as it is (a YAML apply); without, it is sent as JSON.
 */
export async function api(method, path, body, contentType) {
  if (!signedIn()) throw new ApiError(401, 'not signed in');
  try {
    return await request(method, path, body, true, contentType);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) forget();
    throw e;
  }
}

/** A followed stream of text (a pod's log): calls onText with each piece; answers a function that stops it. */
export function follow(path, onText, onEnd) {
  const abort = new AbortController();
  (async () => {
    try {
      const response = await fetch(path, {
        headers: { Authorization: `Bearer ${session.accessToken}` }, signal: abort.signal, credentials: 'omit',
      });
      if (!response.ok) {
        const text = await response.text();
        let message = text;
        try { message = JSON.parse(text).message; } catch (e) { /* not JSON: the text itself */ }
        throw new ApiError(response.status, message);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        onText(value);
      }
      onEnd(null);
    } catch (e) {
      if (e.name !== 'AbortError') onEnd(e);
    }
  })();
  return () => abort.abort();
}

const accessCache = new Map(); // key -> {allowed, at}
/** How long an answer is kept: a role given or taken away shows within this (and at the next sign-in). */
const ACCESS_TTL_MS = 60000;

/**
 * Whether the user may do each of checks ([{resource, verb, cluster?, namespace?}]), as the hub's RBAC
 * decides; the console offers only what would be allowed. Answers are kept for the session, a minute at most.
 */
export async function canI(checks) {
  const now = Date.now();
  const keys = checks.map(c => JSON.stringify([c.resource, c.verb, c.cluster || '', c.namespace || '']));
  const fresh = key => accessCache.has(key) && now - accessCache.get(key).at < ACCESS_TTL_MS;
  const missing = checks.filter((c, i) => !fresh(keys[i]));
  if (missing.length) {
    const answer = await api('POST', '/api/v1/auth/can-i', { checks: missing });
    missing.forEach((c, i) => accessCache.set(JSON.stringify([c.resource, c.verb, c.cluster || '', c.namespace || '']),
      { allowed: answer.results[i], at: now }));
  }
  return keys.map(key => accessCache.get(key).allowed);
}

onSignedOut(() => accessCache.clear());

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
