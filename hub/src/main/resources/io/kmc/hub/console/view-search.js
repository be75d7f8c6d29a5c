// Search across the fleet (GET /api/v1/search). The form is in the link: #/search?kind=...&labelSelector=...

import { api, query } from './api.js';
import { subscribe } from './live.js';
import { el, fill, ago, labelChips, notice } from './dom.js';

const FIELDS = [
  { name: 'kind', label: 'Kind', placeholder: 'deployments' },
  { name: 'labelSelector', label: 'Label selector', placeholder: 'app=web,tier in (front)' },
  { name: 'namespace', label: 'Namespace', placeholder: 'any' },
  { name: 'nameContains', label: 'Name contains', placeholder: '' },
  { name: 'cluster', label: 'Clusters', placeholder: 'prod,edge' },
  { name: 'clusterSelector', label: 'Cluster selector', placeholder: 'env=prod' },
];
const PAGE = 200;

/** The console's link to one object. */
export function resourceLink(item) {
  const parts = [item.cluster, item.group || 'core', item.version, item.resource, item.namespace || '_', item.name];
  return `#/r/${parts.map(encodeURIComponent).join('/')}`;
}

function summaryText(summary) {
  return Object.entries(summary || {}).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}

export function searchView(main, route) {
  const inputs = {};
  const form = el('form', { class: 'search', role: 'search', 'aria-label': 'Search the fleet', onsubmit: event => {
    event.preventDefault();
    const params = {};
    for (const field of FIELDS) params[field.name] = inputs[field.name].value.trim();
    location.hash = `#/search${query(params)}`;
  } },
  FIELDS.map(field => {
    const input = el('input', { id: `q-${field.name}`, name: field.name, type: field.name === 'kind' ? 'search' : 'text',
      placeholder: field.placeholder, value: route.params.get(field.name) || '' });
    inputs[field.name] = input;
    return el('div', { class: 'field' }, el('label', { for: `q-${field.name}` }, field.label), input);
  }),
  el('button', { type: 'submit', id: 'search-submit' }, 'Search'));

  const status = el('div', { id: 'search-status', role: 'status' });
  const body = el('tbody');
  const table = el('table', { id: 'results' },
    el('caption', { class: 'sr-only' }, 'Search results'),
    el('thead', {}, el('tr', {}, ['Cluster', 'Kind', 'Namespace', 'Name', 'Labels', 'Status', 'Age']
      .map(title => el('th', { scope: 'col' }, title)))),
    body);
  const more = el('button', { type: 'button', id: 'search-more', hidden: true }, 'Load more');
  fill(main, el('h1', {}, 'Search the fleet'), form, status, el('div', { class: 'table-wrap' }, table), more);

  const params = {};
  for (const field of FIELDS) params[field.name] = route.params.get(field.name) || '';
  let cancelled = false;
  let shown = 0;

  function row(item) {
    const stale = item.stale ? el('span', { class: 'badge stale', title: item.lastSync || '' },
      `stale${item.lastSync ? `, last sync ${ago(item.lastSync)}` : ''}`) : null;
    return el('tr', { dataset: { cluster: item.cluster, name: item.name } },
      el('td', {}, item.cluster, ' ', stale),
      el('td', {}, item.kind),
      el('td', {}, item.namespace || '—'),
      el('td', {}, el('a', { href: resourceLink(item) }, item.name)),
      el('td', {}, labelChips(item.labels)),
      el('td', {}, summaryText(item.summary)),
      el('td', {}, item.created ? el('time', { datetime: item.created, title: item.created }, ago(item.created)) : ''));
  }

  let unsubscribe = null;
  let rerun = null;

  /**
   * Results of one kind follow the fleet: a stream subscription with the same selectors re-runs the
   * search (its first page) shortly after a change, so added, changed and deleted objects show up.
   */
  function follow(items) {
    if (unsubscribe || cancelled || !items.length) return;
    const kinds = new Set(items.map(i => `${i.group}/${i.version}/${i.resource}`));
    if (kinds.size !== 1) return;
    const { group, version, resource } = items[0];
    let initial = true;
    unsubscribe = subscribe({ group: group || '', version, resource, namespace: params.namespace || undefined,
      labelSelector: params.labelSelector || undefined, clusterSelector: params.clusterSelector || undefined }, message => {
      if (message.type === 'INITIAL_STATE_DONE' && message.clusters) initial = false;
      else if (!initial && ['ADDED', 'MODIFIED', 'DELETED', 'RESTART', 'CLUSTER'].includes(message.type)) {
        clearTimeout(rerun);
        rerun = setTimeout(() => {
          body.replaceChildren();
          shown = 0;
          page(null);
        }, 500);
      }
    });
  }

  async function page(continueToken) {
    if (!continueToken && !shown) fill(status, 'Searching…');
    try {
      const answer = await api('GET', `/api/v1/search${query({ ...params, sort: 'cluster,namespace,name', limit: PAGE,
        continue: continueToken })}`);
      if (cancelled) return;
      // Rows are built in one fragment and added at once: one layout for the whole page.
      const fragment = document.createDocumentFragment();
      answer.items.forEach(item => fragment.append(row(item)));
      body.append(fragment);
      shown += answer.items.length;
      const stale = Object.entries(answer.clusters || {}).filter(([, c]) => c.stale).map(([name]) => name);
      fill(status, `${answer.total} objects in ${Object.keys(answer.clusters || {}).length} clusters`,
        shown < answer.total ? ` (showing ${shown})` : '',
        stale.length ? el('span', { class: 'badge stale' }, ` stale: ${stale.join(', ')}`) : '');
      more.hidden = !answer.continue;
      more.onclick = () => page(answer.continue);
      follow(answer.items);
    } catch (e) {
      fill(status, notice(e.message));
    }
  }
  page(null);
  return () => {
    cancelled = true;
    clearTimeout(rerun);
    if (unsubscribe) unsubscribe();
  };
}
