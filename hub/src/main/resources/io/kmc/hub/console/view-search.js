// Search across the fleet (GET /api/v1/search). The form is in the link: #/search?kind=...&labelSelector=...

import { api, query } from './api.js';
import { subscribe } from './live.js';
import { el, fill, ago, labelChips, notice } from './dom.js';

/** A search of more kinds than this is not followed live: one stream subscription per kind. */
const MAX_FOLLOWED_KINDS = 10;
const FIELDS = [
  { name: 'kind', label: 'Kind', placeholder: 'deployments' },
  { name: 'labelSelector', label: 'Label selector', placeholder: 'app=web,tier in (front)' },
  { name: 'namespace', label: 'Namespace', placeholder: 'any' },
  { name: 'nameContains', label: 'Name contains', placeholder: '' },
  { name: 'cluster', label: 'Clusters', placeholder: 'prod,edge' },
  { name: 'clusterSelector', label: 'Cluster selector', placeholder: 'env=prod' },
];
// Up to index.max_page_size (1,000 by default) per request; every loaded row stays in memory, only the
// rows in view (and a few either side) are in the page, so 10,000 results scroll as fast as 10.
const PAGE = 1000;
const OVERSCAN = 10;

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
  // Spacer rows stand for the rows out of view (top in thead, bottom in tfoot: tbody holds only results).
  const topSpacer = el('td', { colspan: '7' });
  const bottomSpacer = el('td', { colspan: '7' });
  const table = el('table', { id: 'results', 'aria-rowcount': '1' },
    el('caption', { class: 'sr-only' }, 'Search results'),
    el('thead', {}, el('tr', { 'aria-rowindex': '1' }, ['Cluster', 'Kind', 'Namespace', 'Name', 'Labels', 'Status', 'Age']
      .map(title => el('th', { scope: 'col' }, title))),
    el('tr', { class: 'spacer', 'aria-hidden': 'true' }, topSpacer)),
    body,
    el('tfoot', {}, el('tr', { class: 'spacer', 'aria-hidden': 'true' }, bottomSpacer)));
  const wrap = el('div', { class: 'table-wrap results', id: 'results-wrap' }, table);
  const more = el('button', { type: 'button', id: 'search-more', hidden: true }, 'Load more');
  fill(main, el('h1', {}, 'Search the fleet'), form, status, wrap, more,
    el('p', { class: 'hint', id: 'results-keys' }, 'In the results: ↑ ↓, Page Up, Page Down, Home and End move between rows.'));

  const params = {};
  for (const field of FIELDS) params[field.name] = route.params.get(field.name) || '';
  let cancelled = false;
  let items = [];
  let rowHeight = 0;
  let scheduled = false;
  let nextToken = null;
  let loading = false;
  let pagesLoaded = 0;
  // A re-run starts a new generation: a page of the previous one arriving late is dropped.
  let generation = 0;

  function row(item, index) {
    const stale = item.stale ? el('span', { class: 'badge stale', title: item.lastSync || '' },
      `stale${item.lastSync ? `, last sync ${ago(item.lastSync)}` : ''}`) : null;
    return el('tr', { 'aria-rowindex': String(index + 2), dataset: { cluster: item.cluster, name: item.name, index: String(index) } },
      el('td', {}, item.cluster, ' ', stale),
      el('td', {}, item.kind),
      el('td', {}, item.namespace || '—'),
      el('td', {}, el('a', { href: resourceLink(item) }, item.name)),
      el('td', {}, labelChips(item.labels)),
      el('td', {}, summaryText(item.summary)),
      el('td', {}, item.created ? el('time', { datetime: item.created, title: item.created }, ago(item.created)) : ''));
  }

  /** Puts in the page the rows in view and OVERSCAN either side; spacers keep the scroll height of all. */
  function renderRows() {
    const focused = document.activeElement?.closest?.('#results tbody tr')?.dataset.index;
    const height = rowHeight || 40;
    const offset = Math.max(0, wrap.scrollTop - table.tHead.rows[0].offsetHeight);
    const first = Math.max(0, Math.floor(offset / height) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((offset + (wrap.clientHeight || 600)) / height) + OVERSCAN);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(row(items[i], i));
    body.replaceChildren(...rows);
    if (!rowHeight && rows.length) {
      rowHeight = rows[0].getBoundingClientRect().height || 40;
      if (rowHeight !== height) return renderRows();
    }
    topSpacer.style.height = `${first * height}px`;
    bottomSpacer.style.height = `${(items.length - last) * height}px`;
    table.setAttribute('aria-rowcount', String(items.length + 1));
    if (focused !== undefined) body.querySelector(`tr[data-index="${focused}"] a`)?.focus({ preventScroll: true });
    return last;
  }

  wrap.addEventListener('scroll', () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      renderRows();
    });
  });

  /** Scrolls row index into view, renders it, and focuses its link. */
  function focusRow(index) {
    const target = Math.max(0, Math.min(items.length - 1, index));
    const header = table.tHead.rows[0].offsetHeight;
    const top = target * (rowHeight || 40);
    if (top < wrap.scrollTop) wrap.scrollTop = top;
    else if (top + rowHeight + header > wrap.scrollTop + wrap.clientHeight) {
      wrap.scrollTop = top + rowHeight + header - wrap.clientHeight;
    }
    renderRows();
    body.querySelector(`tr[data-index="${target}"] a`)?.focus({ preventScroll: true });
  }

  body.addEventListener('keydown', event => {
    const current = event.target.closest('tr')?.dataset.index;
    if (current === undefined) return;
    const page = Math.max(1, Math.floor(wrap.clientHeight / (rowHeight || 40)) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    let next;
    if (event.key in moves) next = Number(current) + moves[event.key];
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = items.length - 1;
    else return;
    event.preventDefault();
    focusRow(next);
  });

  let unsubscribe = null;
  let rerun = null;

  /** Starts the search again from its first page. */
  function restart() {
    items = [];
    nextToken = null;
    generation++;
    page(null);
  }

  /**
   * Results follow the fleet: one stream subscription per kind in the results (at most
   * MAX_FOLLOWED_KINDS), with the search's selectors and changes only, re-runs the search (its first page)
   * shortly after a change, so added, changed and deleted objects show up. When more pages than the first were loaded,
   * the rows are kept (a re-run would throw them away under the reader) and a button offers to refresh.
   * A cluster's state changes no row.
   */
  function follow(items) {
    if (unsubscribe || cancelled || !items.length) return;
    const kinds = new Map();
    for (const i of items) kinds.set(`${i.group}/${i.version}/${i.resource}`, i);
    if (kinds.size > MAX_FOLLOWED_KINDS) {
      status.append(' ', el('span', { class: 'hint', id: 'search-not-live' },
        `(not followed live: more than ${MAX_FOLLOWED_KINDS} kinds; narrow the search to follow it)`));
      return;
    }
    const changed = () => {
      // At most one re-run each 500 ms, also while changes keep coming (a debounce would wait for a lull
      // that a busy fleet never has).
      if (rerun) return;
      rerun = setTimeout(() => {
        rerun = null;
        // Not under a `Load more` on its way: that page would be dropped and the reader sent back to the first.
        if (pagesLoaded <= 1 && !loading) restart();
        else if (!status.querySelector('#search-changed')) {
          status.append(' ', el('button', { type: 'button', id: 'search-changed', onclick: restart },
            'Results changed: refresh'));
        }
      }, 500);
    };
    const stops = [...kinds.values()].map(({ group, version, resource }) => {
      let initial = true;
      // Changes only (initialState false): the rows come from the search; the stream's initial state of every
      // match (100,000 ADDED for a big search) would only compete with the pages the reader asks for.
      return subscribe({ group: group || '', version, resource, initialState: false,
        namespace: params.namespace || undefined,
        labelSelector: params.labelSelector || undefined, clusterSelector: params.clusterSelector || undefined }, message => {
        if (message.type === 'INITIAL_STATE_DONE' && message.clusters) initial = false;
        else if (!initial && ['ADDED', 'MODIFIED', 'DELETED', 'RESTART'].includes(message.type)) changed();
      });
    });
    table.dataset.followedKinds = String(stops.length);
    unsubscribe = () => stops.forEach(stop => stop());
  }

  async function page(continueToken) {
    if (!continueToken && !items.length) fill(status, 'Searching…');
    const asked = generation;
    const sent = performance.now();
    try {
      const answer = await api('GET', `/api/v1/search${query({ ...params, sort: 'cluster,namespace,name', limit: PAGE,
        continue: continueToken })}`);
      if (cancelled || asked !== generation) return;
      // From the answer to its rows on screen (after the next frame): kept on the table for the browser test.
      const answered = performance.now();
      table.dataset.answerMs = String(Math.round(answered - sent));
      items = continueToken ? items.concat(answer.items) : answer.items;
      pagesLoaded = continueToken ? pagesLoaded + 1 : 1;
      const shown = items.length;
      renderRows();
      requestAnimationFrame(() => setTimeout(() => {
        table.dataset.renderMs = String(Math.round(performance.now() - answered));
        table.dataset.loaded = String(shown);
        table.dataset.answers = String(Number(table.dataset.answers || 0) + 1);
      }, 0));
      const stale = Object.entries(answer.clusters || {}).filter(([, c]) => c.stale).map(([name]) => name);
      const clusterCount = Object.keys(answer.clusters || {}).length;
      fill(status, `${answer.total} objects in ${clusterCount} ${clusterCount === 1 ? 'cluster' : 'clusters'}`,
        shown < answer.total ? ` (showing ${shown})` : '',
        stale.length ? el('span', { class: 'badge stale' }, ` stale: ${stale.join(', ')}`) : '');
      nextToken = answer.continue || null;
      more.hidden = !nextToken;
      follow(answer.items);
    } catch (e) {
      fill(status, notice(e.message));
    }
  }
  /** The next page, once at a time (`Load more`). */
  async function loadMore() {
    if (!nextToken || loading) return;
    loading = true;
    try {
      await page(nextToken);
    } finally {
      loading = false;
    }
  }
  more.onclick = loadMore;
  page(null);
  return () => {
    cancelled = true;
    clearTimeout(rerun);
    if (unsubscribe) unsubscribe();
  };
}
