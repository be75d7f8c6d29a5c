// The audit log with its filters (GET /api/v1/audit); the filters are in the link.

import { api, query } from './api.js';
import { el, fill, notice } from './dom.js';

const FILTERS = [
  { name: 'user', label: 'User' }, { name: 'cluster', label: 'Cluster' }, { name: 'verb', label: 'Verb' },
  { name: 'status', label: 'Status' }, { name: 'since', label: 'Since (ISO time)' },
];

export function auditView(main, route) {
  const inputs = {};
  const form = el('form', { class: 'search', 'aria-label': 'Filter the audit log', onsubmit: event => {
    event.preventDefault();
    const params = {};
    FILTERS.forEach(f => { params[f.name] = inputs[f.name].value.trim(); });
    location.hash = `#/audit${query(params)}`;
  } }, FILTERS.map(f => {
    inputs[f.name] = el('input', { id: `a-${f.name}`, name: f.name, value: route.params.get(f.name) || '' });
    return el('div', { class: 'field' }, el('label', { for: `a-${f.name}` }, f.label), inputs[f.name]);
  }), el('button', { type: 'submit' }, 'Filter'));
  const body = el('tbody');
  const status = el('div', { id: 'audit-status', role: 'status' });
  const more = el('button', { type: 'button', hidden: true }, 'Older');
  fill(main, el('h1', {}, 'Audit log'), form, status, el('div', { class: 'table-wrap' }, el('table', { id: 'audit' },
    el('caption', { class: 'sr-only' }, 'Audit records, newest first'),
    el('thead', {}, el('tr', {}, ['Time', 'User', 'Cluster', 'Verb', 'Resource', 'Namespace', 'Path', 'Status', 'ms']
      .map(t => el('th', { scope: 'col' }, t)))), body)), more);

  const params = {};
  FILTERS.forEach(f => { params[f.name] = route.params.get(f.name) || ''; });
  async function page(before) {
    try {
      const answer = await api('GET', `/api/v1/audit${query({ ...params, limit: 100, before })}`);
      body.append(...answer.items.map(r => el('tr', {},
        el('td', {}, el('time', { datetime: r.at }, new Date(r.at).toLocaleString())), el('td', {}, r.user),
        el('td', {}, r.cluster || ''), el('td', {}, r.verb || ''), el('td', {}, r.resource || ''),
        el('td', {}, r.namespace || ''), el('td', { class: 'path' }, r.path || ''),
        el('td', { class: r.status >= 400 ? 'bad' : '' }, String(r.status)), el('td', {}, String(r.latencyMillis ?? '')))));
      fill(status, `${body.children.length} records`);
      more.hidden = !answer.next;
      more.onclick = () => page(answer.next);
    } catch (e) {
      fill(status, notice(e.message));
    }
  }
  page(null);
  return null;
}
