// One object: status summary, YAML, events, owner links, and the actions the user may take. Live: a
// stream subscription for its kind in its namespace re-reads the object whenever it changes.

import { api, canI, query } from './api.js';
import { subscribe } from './live.js';
import { el, fill, ago, labelChips, notice } from './dom.js';
import { toYaml } from './yaml.js';
import { podUsage, cores, bytes, usageText } from './metrics.js';

/** Where the console finds the kinds that owner references name. */
const KINDS = {
  Deployment: ['apps', 'v1', 'deployments'], ReplicaSet: ['apps', 'v1', 'replicasets'],
  StatefulSet: ['apps', 'v1', 'statefulsets'], DaemonSet: ['apps', 'v1', 'daemonsets'],
  Pod: ['core', 'v1', 'pods'], Service: ['core', 'v1', 'services'], Node: ['core', 'v1', 'nodes'],
  Job: ['batch', 'v1', 'jobs'], CronJob: ['batch', 'v1', 'cronjobs'], Namespace: ['core', 'v1', 'namespaces'],
};

export function link(cluster, group, version, plural, namespace, name) {
  return `#/r/${[cluster, group, version, plural, namespace || '_', name].map(encodeURIComponent).join('/')}`;
}

/** What matters at a glance, per kind. */
function summarize(object) {
  const spec = object.spec || {};
  const status = object.status || {};
  const fields = [];
  if ('replicas' in spec) {
    fields.push(['replicas', spec.replicas], ['readyReplicas', status.readyReplicas ?? 0],
      ['updatedReplicas', status.updatedReplicas ?? 0], ['availableReplicas', status.availableReplicas ?? 0]);
  }
  if (status.phase) fields.push(['phase', status.phase]);
  if (Array.isArray(status.containerStatuses)) {
    fields.push(['ready', status.containerStatuses.every(c => c.ready)],
      ['restarts', status.containerStatuses.reduce((n, c) => n + (c.restartCount || 0), 0)]);
  }
  if (spec.nodeName) fields.push(['node', spec.nodeName]);
  for (const condition of status.conditions || []) fields.push([`condition ${condition.type}`, condition.status]);
  return fields;
}

/** What a user edits: the object without the fields the server owns. */
function editable(object) {
  const copy = JSON.parse(JSON.stringify(object));
  delete copy.status;
  const metadata = copy.metadata || {};
  for (const key of ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink']) delete metadata[key];
  if (metadata.annotations) {
    delete metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  return copy;
}

export function resourceView(main, route) {
  const [cluster, group, version, plural, nsPart, name] = route.parts;
  if (!name) {
    fill(main, notice('This link does not name an object.'));
    return null;
  }
  const namespace = nsPart === '_' ? '' : nsPart;
  const apiGroup = group === 'core' ? '' : group;
  const objectPath = `/api/v1/clusters/${encodeURIComponent(cluster)}/resources/${encodeURIComponent(group)}/`
    + `${encodeURIComponent(version)}/${encodeURIComponent(plural)}/${encodeURIComponent(name)}${query({ namespace })}`;

  const banner = el('div', { id: 'stale-banner' });
  const summary = el('dl', { id: 'summary', class: 'summary' });
  const labels = el('div', { id: 'labels' });
  const owners = el('div', { id: 'owners' });
  const actions = el('div', { id: 'actions', class: 'actions' });
  const actionMessage = el('div', { id: 'action-message' });
  const yaml = el('pre', { id: 'yaml', class: 'yaml', tabindex: '0', 'aria-label': 'The object as YAML' });
  const yamlTools = el('div', { id: 'yaml-tools', class: 'toolbar' });
  const editor = el('div', { id: 'editor' });
  const events = el('div', { id: 'events' });
  const updated = el('span', { id: 'updated', class: 'hint' });
  fill(main,
    el('p', { class: 'crumbs' }, el('a', { href: `#/search${query({ kind: plural, namespace })}` }, plural), ' · ',
      cluster, namespace ? ` / ${namespace}` : ''),
    el('h1', {}, name, ' ', updated),
    banner,
    el('section', { 'aria-labelledby': 'h-status' }, el('h2', { id: 'h-status' }, 'Status'), summary, labels, owners),
    actions, actionMessage,
    el('section', { 'aria-labelledby': 'h-events' }, el('h2', { id: 'h-events' }, 'Events'), events),
    el('section', { 'aria-labelledby': 'h-yaml' }, el('h2', { id: 'h-yaml' }, 'YAML'), yamlTools, editor, yaml));

  let closed = false;
  let current = null;
  let rereadTimer = null;
  let readAt = null;
  let replicasInput = null;
  let editing = null; // {resourceVersion} of what the editor started from, while editing
  // A pod's CPU and memory from the cluster's metrics API, re-read every scrape window (15 s).
  const isPod = plural === 'pods' && group === 'core';
  let usage;
  let usageTimer = null;

  async function readUsage() {
    usage = await podUsage(cluster, namespace, name);
    if (!closed && current) show(current);
  }

  function show(object) {
    current = object;
    const fields = summarize(object);
    if (isPod) {
      fields.push(['cpu', usageText(usage?.cpu, null, cores)], ['memory', usageText(usage?.memory, null, bytes)]);
    }
    fill(summary, fields.map(([key, value]) => [
      el('dt', {}, key), el('dd', { dataset: { field: key } }, String(value))]));
    fill(labels, labelChips(object.metadata?.labels));
    fill(owners, (object.metadata?.ownerReferences || []).map(owner => {
      const kind = KINDS[owner.kind];
      return el('p', {}, 'Owned by ', kind
        ? el('a', { href: link(cluster, kind[0], kind[1], kind[2], namespace, owner.name) }, `${owner.kind}/${owner.name}`)
        : `${owner.kind}/${owner.name}`);
    }));
    yaml.textContent = toYaml(object);
    if (editing && editing.resourceVersion !== object.metadata?.resourceVersion && !editing.warned) {
      editing.warned = true;
      editing.changed.replaceChildren(notice(`${name} changed in the cluster while you edit (resourceVersion `
        + `${object.metadata?.resourceVersion}). Applying sets the fields you kept here; the YAML below the editor is the new state.`,
      'warning'));
    }
    updated.textContent = `resourceVersion ${object.metadata?.resourceVersion}`;
    if (replicasInput && document.activeElement !== replicasInput && object.spec?.replicas !== undefined) {
      replicasInput.value = object.spec.replicas;
    }
  }

  async function read() {
    try {
      const object = await api('GET', objectPath);
      if (!closed) {
        readAt = new Date();
        show(object);
      }
    } catch (e) {
      if (closed) return;
      if (current) fill(banner, notice(`Could not read it again: ${e.message}. Showing what was last read.`, 'warning'));
      else fill(yaml, e.status === 404 ? 'Not found (or not yours to see).' : e.message);
    }
  }

  async function readEvents() {
    const [mayList] = await canI([{ resource: 'events', verb: 'list', cluster, namespace }]);
    if (!mayList) {
      fill(events, el('p', { class: 'hint' }, 'You may not read events here.'));
      return;
    }
    try {
      const list = await api('GET', `/api/v1/clusters/${encodeURIComponent(cluster)}/events${query({
        namespace, fieldSelector: `involvedObject.name=${name}` })}`);
      if (closed) return;
      const items = (list.items || []).sort((a, b) => String(b.lastTimestamp || '').localeCompare(String(a.lastTimestamp || '')));
      fill(events, items.length === 0 ? el('p', { class: 'hint' }, 'No events.') : el('table', {},
        el('thead', {}, el('tr', {}, ['Type', 'Reason', 'Message', 'When'].map(t => el('th', { scope: 'col' }, t)))),
        el('tbody', {}, items.map(e => el('tr', {}, el('td', {}, e.type), el('td', {}, e.reason), el('td', {}, e.message),
          el('td', {}, ago(e.lastTimestamp || e.eventTime)))))));
    } catch (e) {
      fill(events, notice(e.message, 'warning'));
    }
  }

  async function offerActions() {
    const checks = [{ resource: plural, verb: 'patch', cluster, namespace }, { resource: plural, verb: 'delete', cluster, namespace },
      { resource: 'pods', verb: 'get', cluster, namespace }, { resource: 'pods', verb: 'list', cluster, namespace },
      { resource: 'pods/exec', verb: 'create', cluster, namespace }];
    const [mayPatch, mayDelete, mayReadPods, mayListPods, mayExec] = await canI(checks);
    const buttons = [];
    if (plural === 'deployments' && group === 'apps' && mayPatch) {
      const replicas = replicasInput = el('input', { id: 'scale-replicas', type: 'number', min: '0', max: '1000', value: current?.spec?.replicas ?? 1,
        'aria-label': 'Replicas' });
      buttons.push(el('form', { class: 'inline', onsubmit: event => {
        event.preventDefault();
        act(`scaled to ${replicas.value}`, 'PUT', `/api/v1/clusters/${encodeURIComponent(cluster)}/deployments/`
          + `${encodeURIComponent(name)}/scale${query({ namespace })}`, { replicas: Number(replicas.value) });
      } }, replicas, el('button', { type: 'submit', id: 'scale' }, 'Scale')));
      buttons.push(el('button', { type: 'button', id: 'restart', onclick: () => act('restarted', 'POST',
        `/api/v1/clusters/${encodeURIComponent(cluster)}/deployments/${encodeURIComponent(name)}/restart${query({ namespace })}`) },
      'Restart'));
    }
    if (plural === 'pods' && group === 'core' && mayReadPods) {
      buttons.push(el('a', { class: 'button', id: 'logs', href: `#/logs/${[cluster, namespace, name].map(encodeURIComponent).join('/')}` },
        'Logs'));
    }
    if (plural === 'pods' && group === 'core' && mayExec && current?.status?.phase === 'Running') {
      buttons.push(el('a', { class: 'button', id: 'shell', href: `#/exec/${[cluster, namespace, name].map(encodeURIComponent).join('/')}` },
        'Shell'));
    }
    if (plural === 'deployments' && mayListPods && current?.spec?.selector?.matchLabels) {
      const selector = Object.entries(current.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
      buttons.push(el('a', { class: 'button', id: 'pods-link', href: `#/search${query({ kind: 'pods', namespace,
        labelSelector: selector, clusterSelector: '' })}` }, 'Pods'));
    }
    if (mayDelete) {
      buttons.push(el('button', { type: 'button', id: 'delete', class: 'danger', onclick: () => {
        if (confirm(`Delete ${plural}/${name} in ${cluster}?`)) act('deleted', 'DELETE', objectPath);
      } }, 'Delete'));
    }
    if (mayPatch) {
      fill(yamlTools, el('button', { type: 'button', id: 'edit', onclick: startEditing }, 'Edit'));
    }
    fill(actions, buttons);
    actions.dataset.ready = 'true'; // what the user may do is decided (tests wait for it)
  }

  /**
   * Edit and apply: the object's YAML without what the server owns (status, managedFields, uid, ...), applied
   * with server-side apply through the hub's Kubernetes pass-through as field manager kmc-console. A conflict
   * with another field manager is shown with the fields it names and can be forced; a refusal is shown as the
   * cluster words it.
   */
  function startEditing() {
    if (!current || editing) return;
    const text = el('textarea', { id: 'yaml-edit', class: 'yaml-edit', spellcheck: 'false', rows: '24',
      'aria-label': `YAML of ${name} to apply` });
    const object = editable(current);
    if (!object.apiVersion) object.apiVersion = apiGroup ? `${apiGroup}/${version}` : version;
    text.value = toYaml(object);
    const message = el('div', { id: 'edit-message' });
    const changed = el('div', { id: 'edit-changed' });
    editing = { resourceVersion: current.metadata?.resourceVersion, changed, warned: false };
    const apply = el('button', { type: 'submit', id: 'apply' }, 'Apply');
    const cancel = el('button', { type: 'button', id: 'edit-cancel', onclick: stopEditing }, 'Cancel');
    async function send(force) {
      fill(message, el('p', { class: 'hint', role: 'status' }, 'Applying…'));
      apply.disabled = true;
      try {
        const applied = await api('PATCH', `${kubePath()}${query({ fieldManager: 'kmc-console', force: force ? 'true' : '' })}`,
          text.value, 'application/apply-patch+yaml');
        stopEditing();
        fill(actionMessage, notice(`${name} applied (resourceVersion ${applied?.metadata?.resourceVersion}).`, 'ok'));
        if (applied?.metadata) show(applied);
      } catch (e) {
        apply.disabled = false;
        if (e.status === 409) {
          fill(message, notice(`Conflict: ${e.message}`),
            el('p', {}, 'Another field manager owns these fields. Change them back, or take them over: ',
              el('button', { type: 'button', id: 'apply-force', class: 'danger', onclick: () => send(true) },
                'Apply anyway (force)')));
        } else if (e.status === 401) {
          fill(message, notice('Signed out: the edit was not applied.'));
        } else {
          fill(message, notice(`${e.status === 422 || e.status === 400 ? 'Not valid' : 'Refused'} (${e.status}): ${e.message}`));
        }
        message.scrollIntoView({ block: 'nearest' });
      }
    }
    fill(editor, el('form', { class: 'editor', onsubmit: event => { event.preventDefault(); send(false); } },
      changed, text, el('div', { class: 'toolbar' }, apply, cancel, el('span', { class: 'hint' },
        'Server-side apply as field manager kmc-console')), message));
    yaml.hidden = true;
    yamlTools.hidden = true;
    text.focus();
  }

  function stopEditing() {
    editing = null;
    fill(editor);
    yaml.hidden = false;
    yamlTools.hidden = false;
  }

  /** The object's path on the hub's Kubernetes pass-through (what kubectl through the hub uses). */
  function kubePath() {
    const base = apiGroup ? `/apis/${encodeURIComponent(apiGroup)}/${encodeURIComponent(version)}` : `/api/${encodeURIComponent(version)}`;
    return `/k8s/clusters/${encodeURIComponent(cluster)}${base}`
      + `${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${encodeURIComponent(plural)}/${encodeURIComponent(name)}`;
  }

  async function act(what, method, path, body) {
    fill(actionMessage);
    try {
      await api(method, path, body);
      fill(actionMessage, notice(`${name} ${what}.`, 'ok'));
    } catch (e) {
      fill(actionMessage, notice(e.message));
    }
  }

  read().then(() => { if (!closed) offerActions(); });
  readEvents();

  const unsubscribe = subscribe({ group: apiGroup, version, resource: plural, clusters: [cluster],
    namespace: namespace || undefined }, message => {
    if (['ADDED', 'MODIFIED', 'DELETED'].includes(message.type) && message.object?.name === name) {
      if (message.type === 'DELETED') {
        fill(banner, notice(`${name} was deleted from ${cluster}.`, 'warning'));
        return;
      }
      // At most one re-read each 150 ms, also while changes keep coming.
      if (rereadTimer) return;
      rereadTimer = setTimeout(() => { rereadTimer = null; read(); readEvents(); }, 150);
    } else if (message.type === 'CLUSTER') {
      if (['stale', 'disconnected'].includes(message.state)) {
        fill(banner, el('p', { class: 'notice warning', role: 'status' },
          `${cluster} is ${message.state}: this page may be out of date`,
          readAt ? ` (last read at ${readAt.toLocaleTimeString()})` : '', '.'));
      } else if (['connected', 'resynced'].includes(message.state)) {
        fill(banner);
        read();
      }
    } else if (message.type === 'INITIAL_STATE_DONE' && message.clusters?.[cluster] === 'stale') {
      fill(banner, notice(`${cluster} is stale: its agent is not connected; what you see may be out of date.`, 'warning'));
    } else if (message.type === 'ERROR') {
      fill(banner, notice(`No live updates: ${message.message}`, 'warning'));
    }
  });
  if (isPod) {
    readUsage();
    usageTimer = setInterval(readUsage, 15000);
  }
  return () => {
    closed = true;
    clearTimeout(rereadTimer);
    clearInterval(usageTimer);
    unsubscribe();
  };
}
