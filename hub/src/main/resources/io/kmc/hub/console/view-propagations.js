// Propagations and their state in every target cluster (GET /api/v1/propagations).

import { api } from './api.js';
import { el, fill, notice } from './dom.js';

export function propagationsView(main) {
  const list = el('div', { id: 'propagations' }, 'Loading…');
  fill(main, el('h1', {}, 'Propagations'), list);
  let closed = false;

  async function load() {
    try {
      const answer = await api('GET', '/api/v1/propagations');
      if (closed) return;
      const items = answer.items || [];
      fill(list, items.length === 0 ? el('p', { class: 'hint' }, 'No propagations yet (docs/propagation.md).') : items.map(p => {
        const status = p.status || {};
        return el('section', { class: 'card', dataset: { name: p.metadata?.name } },
          el('h2', {}, p.metadata?.name, ' ', el('span', { class: `badge ${String(status.phase || '').toLowerCase()}` },
            status.phase || 'unknown')),
          el('p', { class: 'hint' }, (status.conditions || []).map(c => c.message).join(' · ')),
          el('table', {},
            el('thead', {}, el('tr', {}, ['Cluster', 'State', 'Generation', 'Healthy', 'Message']
              .map(t => el('th', { scope: 'col' }, t)))),
            el('tbody', {}, (status.clusters || []).map(c => el('tr', {},
              el('td', {}, c.cluster), el('td', {}, el('span', { class: `badge ${c.state}` }, c.state)),
              el('td', {}, String(c.generation ?? '—')), el('td', {}, c.healthy ? 'yes' : 'no'),
              el('td', {}, c.message || ''))))));
      }));
    } catch (e) {
      fill(list, notice(e.message));
    }
  }
  load();
  // Propagation status lives in the hub's database, not in the fleet index: re-read it every few seconds.
  const timer = setInterval(load, 5000);
  return () => {
    closed = true;
    clearInterval(timer);
  };
}
