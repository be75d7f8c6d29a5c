// One websocket to /api/v1/stream for the whole console (docs/streams.md). Browsers cannot set headers
// on a websocket, so each connection takes a one-use ticket. After a drop it reconnects with backoff and
// resumes every subscription from its last resume token: no reload, no gap.

import { api, signedIn, onSignedOut } from './api.js';

const subscriptions = new Map(); // id -> {request, handler, resume}
const stateListeners = new Set();
let socket = null;
let state = 'off';
let attempt = 0;
let reconnectTimer = null;
let counter = 0;

function setState(next) {
  state = next;
  stateListeners.forEach(listener => listener(next));
}

/** Calls listener with the connection's state now and at every change; answers a function that stops it. */
export function onConnectionState(listener) {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

export function connectionState() {
  return state;
}

/**
 * Subscribes: request is a subscribe message without type and id; handler gets every message of the
 * subscription. Answers a function that unsubscribes.
 */
export function subscribe(request, handler) {
  const id = `c${++counter}`;
  subscriptions.set(id, { request, handler, resume: null });
  if (socket && socket.readyState === WebSocket.OPEN) send(id);
  else connect();
  return () => {
    subscriptions.delete(id);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'unsubscribe', id }));
  };
}

function send(id) {
  const sub = subscriptions.get(id);
  const message = { ...sub.request, type: 'subscribe', id };
  if (sub.resume) message.resume = sub.resume;
  socket.send(JSON.stringify(message));
}

async function connect() {
  if (socket || reconnectTimer || !signedIn()) return;
  setState('connecting');
  let ticket;
  try {
    ticket = (await api('POST', '/api/v1/stream/tickets')).ticket;
  } catch (e) {
    retry();
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream?ticket=${encodeURIComponent(ticket)}`);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    setState('live');
    for (const id of subscriptions.keys()) send(id);
  };
  ws.onmessage = event => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message.type === 'CLOSING' && message.resume) {
      for (const [id, token] of Object.entries(message.resume)) {
        if (subscriptions.has(id)) subscriptions.get(id).resume = token;
      }
    }
    const sub = message.id && subscriptions.get(message.id);
    if (!sub) return;
    if (message.resume) sub.resume = message.resume;
    sub.handler(message);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (subscriptions.size && signedIn()) retry();
    else setState('off');
  };
}

function retry() {
  setState('reconnecting');
  const delay = Math.min(15000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, delay);
}

onSignedOut(() => {
  subscriptions.clear();
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close();
  }
  setState('off');
});
