// Every cluster the user may see: connection, versions, last seen, labels, object counts. Live: the
// counts subscription reports each cluster's state and count changes as they happen.

import { api } from './api.js';
import { subscribe } from './live.js';
import { el, fill, ago, labelChips, labelText, notice, sortableTable } from './dom.js';
import { clusterUsage, cores, bytes, usageText } from './metrics.js';

export function fleetView(main, route) {
  const filter = el('input', { type: 'search', id: 'label-filter', placeholder: 'env=prod, tier', 'aria-describedby': 'label-filter-help',
    value: route.params.get('labels') || '' });
  const status = el('div', { id: 'fleet-status' });
  let clusters = [];
  const counts = {};
  const streamState = {};

  const table = sortableTable('Clusters', [
    { key: 'name', title: 'Cluster', cell: c => el('a', { href: `#/search?cluster=${encodeURIComponent(c.name)}`,
      title: `Everything indexed in ${c.name}` }, c.name) },
    { key: 'state', title: 'State', value: c => state(c), cell: c => stateBadge(c) },
    { key: 'kubernetes', title: 'Kubernetes', value: c => c.connection.kubernetesVersion || '' ,
      cell: c => c.connection.kubernetesVersion || '—' },
    { key: 'agent', title: 'Agent', value: c => c.connection.agentVersion || '', cell: c => c.connection.agentVersion || '—' },
    { key: 'lastSeen', title: 'Last seen', value: c => lastSeen(c) || '',
      cell: c => lastSeen(c) ? el('time', { datetime: lastSeen(c), title: lastSeen(c) }, ago(lastSeen(c))) : '—' },
    { key: 'labels', title: 'Labels', value: c => labelText(c.labels), cell: c => labelChips(c.labels) },
    { key: 'objects', title: 'Objects', value: c => total(c), cell: c => String(total(c) ?? '—') },
    { key: 'pods', title: 'Pods', value: c => counts[c.name]?.pods ?? -1, cell: c => String(counts[c.name]?.pods ?? '—') },
    { key: 'cpu', title: 'CPU', value: c => usage[c.name]?.cpu ?? -1,
      cell: c => usageText(usage[c.name]?.cpu, usage[c.name]?.cpuAllocatable, cores) },
    { key: 'memory', title: 'Memory', value: c => usage[c.name]?.memory ?? -1,
      cell: c => usageText(usage[c.name]?.memory, usage[c.name]?.memoryAllocatable, bytes) },
  ], { rowKey: c => c.name });
  // CPU and memory from each connected cluster's metrics API (null: none there, or not the user's to read).
  const usage = {};

  async function readUsage() {
    await Promise.all(clusters.filter(c => c.enabled && c.connection.connected).map(async c => {
      usage[c.name] = await clusterUsage(c.name);
    }));
    render();
  }

  function lastSeen(c) {
    return c.connection.lastSeen || counts[c.name]?.lastSync || null;
  }
  function total(c) {
    const kinds = counts[c.name]?.kinds;
    return kinds ? Object.values(kinds).reduce((a, b) => a + b, 0) : undefined;
  }
  function state(c) {
    if (!c.enabled) return 'disabled';
    if (streamState[c.name] === 'stale' || counts[c.name]?.stale) return c.connection.connected ? 'syncing' : 'stale';
    return c.connection.connected ? 'connected' : 'disconnected';
  }
  function stateBadge(c) {
    const s = state(c);
    const since = counts[c.name]?.lastSync;
    return el('span', { class: `badge ${s}` }, s, s === 'stale' && since ? ` (last sync ${ago(since)})` : '');
  }

  function matches(c) {
    const wanted = filter.value.split(',').map(t => t.trim()).filter(Boolean);
    return wanted.every(term => {
      const [key, value] = term.split('=').map(t => t.trim());
      return value === undefined ? key in (c.labels || {}) : (c.labels || {})[key] === value;
    });
  }
  function render() {
    const shown = clusters.filter(matches);
    table.update(shown);
    fill(status, shown.length === clusters.length ? `${clusters.length} clusters` : `${shown.length} of ${clusters.length} clusters`);
  }

  async function load() {
    try {
      const [list, fleetCounts] = await Promise.all([
        api('GET', '/api/v1/clusters'),
        api('GET', '/api/v1/resources/counts').catch(() => ({ clusters: {} })),
      ]);
      clusters = list.items;
      for (const [name, entry] of Object.entries(fleetCounts.clusters || {})) {
        counts[name] = { ...counts[name], kinds: entry.kinds, stale: entry.stale, lastSync: entry.lastSync };
      }
      render();
      readUsage();
    } catch (e) {
      fill(status, notice(`Could not load the clusters: ${e.message}`));
    }
  }

  filter.addEventListener('input', () => {
    const params = new URLSearchParams();
    if (filter.value) params.set('labels', filter.value);
    history.replaceState(null, '', `#/fleet${params.size ? `?${params}` : ''}`);
    render();
  });

  fill(main,
    el('h1', {}, 'Fleet'),
    el('div', { class: 'toolbar' },
      el('label', { for: 'label-filter' }, 'Filter by cluster label'), filter,
      el('span', { id: 'label-filter-help', class: 'hint' }, 'key=value or key, commas mean and')),
    status, table.node);
  load();
  // Pod counts per cluster and each cluster's connection, as they change; a cluster joining, leaving or
  // going stale re-reads the registry (versions, last seen). Deployments too: a user who may not watch
  // pods still hears about the clusters where they may watch deployments.
  let reload = null;
  const onMessage = (message, pods) => {
    if (message.type === 'COUNTS') {
      if (!pods) return;
      for (const [name, n] of Object.entries(message.counts)) counts[name] = { ...counts[name], pods: n };
      render();
    } else if (message.type === 'CLUSTER') {
      streamState[message.cluster] = message.state;
      clearTimeout(reload);
      reload = setTimeout(load, 300);
    } else if (message.type === 'INITIAL_STATE_DONE' && message.clusters) {
      Object.assign(streamState, message.clusters);
      render();
    }
  };
  const unsubscribers = [
    subscribe({ group: '', version: 'v1', resource: 'pods', counts: true }, message => onMessage(message, true)),
    subscribe({ group: 'apps', version: 'v1', resource: 'deployments', counts: true }, message => onMessage(message, false)),
  ];
  // Ages ("last seen") move on, and a user who may watch nothing still sees the fleet change.
  const ticker = setInterval(load, 15000);
  return () => {
    unsubscribers.forEach(unsubscribe => unsubscribe());
    clearInterval(ticker);
    clearTimeout(reload);
  };
}
