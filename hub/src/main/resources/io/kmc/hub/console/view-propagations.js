// Propagations and their state in every target cluster, live: a propagations subscription of the stream
// (docs/streams.md) sends each propagation, then every change of its spec, per-cluster status and drift as
// the hub writes it, on whichever hub node. #/propagations?name=x follows one (a link to share).

import { api } from './api.js';
import { subscribe, onConnectionState } from './live.js';
import { el, fill, ago, notice } from './dom.js';

function clusterRow(c) {
  const stale = c.stale ? el('span', { class: 'badge stale', title: c.updatedAt || '' },
    `stale${c.updatedAt ? `, status of ${ago(c.updatedAt)}` : ''}`) : null;
  return el('tr', { dataset: { cluster: c.cluster } },
    el('td', {}, c.cluster, ' ', stale), el('td', {}, el('span', { class: `badge ${c.state}` }, c.state)),
    el('td', {}, String(c.generation ?? '—')), el('td', {}, c.healthy ? 'yes' : 'no'),
    el('td', {}, c.message || ''));
}

function card(p) {
  const status = p.status || {};
  const name = p.metadata?.name;
  return el('section', { class: 'card', dataset: { name, generation: String(p.metadata?.generation ?? '') } },
    el('h2', {}, el('a', { href: `#/propagations?name=${encodeURIComponent(name)}` }, name), ' ',
      el('span', { class: `badge ${String(status.phase || '').toLowerCase()}` }, status.phase || 'unknown'),
      p.metadata?.deletionRequested ? el('span', { class: 'badge pending' }, 'deleting') : null),
    el('p', { class: 'hint' }, (status.conditions || []).map(c => c.message).join(' · ')),
    el('table', {},
      el('caption', { class: 'sr-only' }, `State of ${name} per cluster`),
      el('thead', {}, el('tr', {}, ['Cluster', 'State', 'Generation', 'Healthy', 'Message']
        .map(t => el('th', { scope: 'col' }, t)))),
      el('tbody', {}, (status.clusters || []).map(clusterRow))));
}

export function propagationsView(main, route) {
  const name = route.params.get('name') || null;
  const banner = el('div', { id: 'propagations-live', role: 'status' });
  const list = el('div', { id: 'propagations', 'aria-busy': 'true' }, 'Loading…');
  // One propagation: its history of events too (rollout started, applied, drift, failures), read again
  // when the stream says the propagation changed, at most once a second: never on a timer.
  const events = name ? el('tbody') : null;
  const eventsStatus = name ? el('p', { class: 'hint', id: 'propagation-events-status', role: 'status' }) : null;
  fill(main, el('h1', {}, name ? `Propagation ${name}` : 'Propagations'),
    name ? el('p', {}, el('a', { href: '#/propagations' }, 'All propagations')) : null, banner, list,
    name ? [el('h2', {}, 'Events'), eventsStatus, el('div', { class: 'table-wrap' }, el('table', { id: 'propagation-events' },
      el('caption', { class: 'sr-only' }, `Events of ${name}, newest first`),
      el('thead', {}, el('tr', {}, ['When', 'Type', 'Cluster', 'Generation', 'Message']
        .map(t => el('th', { scope: 'col' }, t)))), events))] : null);
  let closed = false;
  let eventsTimer = null;
  let eventsRead = 0;
  async function readEvents() {
    eventsTimer = null;
    eventsRead = Date.now();
    try {
      const answer = await api('GET', `/api/v1/propagations/${encodeURIComponent(name)}/events`);
      if (closed) return;
      const items = (answer.items || []).slice().reverse();
      fill(eventsStatus, items.length ? '' : 'No events yet.');
      events.replaceChildren(...items.map(e => el('tr', {},
        el('td', {}, el('time', { datetime: e.at, title: e.at }, ago(e.at))), el('td', {}, e.type),
        el('td', {}, e.cluster || '—'), el('td', {}, String(e.generation ?? '—')), el('td', {}, e.message || ''))));
    } catch (e) {
      if (!closed) fill(eventsStatus, notice(e.message));
    }
  }
  function changed() {
    if (!name || eventsTimer) return;
    eventsTimer = setTimeout(readEvents, Math.max(0, 1000 - (Date.now() - eventsRead)));
  }
  const items = new Map();
  let initial = true;
  let scheduled = false;
  // When the stream stopped being live: what is shown is the state as of then.
  let wasLive = false;
  let droppedAt = null;

  function render() {
    scheduled = false;
    list.removeAttribute('aria-busy');
    list.dataset.source = 'stream';
    const sorted = [...items.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    fill(list, sorted.length ? sorted.map(card) : el('p', { class: 'hint' },
      name ? `No propagation named ${name}.` : 'No propagations yet (docs/propagation.md).'));
  }
  function schedule() {
    if (scheduled || initial) return;
    scheduled = true;
    requestAnimationFrame(render);
  }

  const unsubscribe = subscribe(name ? { source: 'propagations', name } : { source: 'propagations' }, message => {
    switch (message.type) {
      case 'ADDED':
      case 'MODIFIED':
        items.set(message.object.metadata.name, message.object);
        schedule();
        changed();
        break;
      case 'DELETED':
        items.delete(message.object.metadata.name);
        schedule();
        break;
      case 'INITIAL_STATE_DONE':
        initial = false;
        render();
        changed();
        break;
      case 'ERROR':
        fill(list, notice(message.message));
        break;
      default:
    }
  });
  const stopState = onConnectionState(state => {
    if (state === 'live') {
      wasLive = true;
      droppedAt = null;
      fill(banner);
      banner.dataset.state = 'live';
    } else if (wasLive) {
      droppedAt = droppedAt || new Date();
      banner.dataset.state = 'stale';
      fill(banner, notice(`Not live (${state}): showing the state as of ${droppedAt.toLocaleTimeString()}; `
        + 'it catches up when the connection is back.', 'warning'));
    }
  });
  return () => {
    closed = true;
    clearTimeout(eventsTimer);
    unsubscribe();
    stopState();
  };
}
