// Small DOM helpers. Text always goes in as text nodes: nothing the hub or a cluster sends is parsed as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything in the node. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** "3 min ago" for an ISO time, with the exact time as a tooltip by the caller. */
export function ago(iso) {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function labelText(labels) {
  return Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
}

export function labelChips(labels) {
  return Object.entries(labels || {}).map(([k, v]) => el('span', { class: 'chip' }, `${k}=${v}`));
}

/** A message for the user, polite to screen readers. */
export function notice(text, kind = 'error') {
  return el('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/**
 * A table whose columns sort when their header button is pressed (keyboard too). columns: [{key, title,
 * value(row) for sorting, cell(row) for display}]. Answers {node, update(rows)}.
 */
export function sortableTable(caption, columns, { initial, rowKey } = {}) {
  let sortKey = initial || columns[0].key;
  let descending = false;
  let rows = [];
  const body = el('tbody');
  const headers = columns.map(column => {
    const button = el('button', { type: 'button', class: 'sort', onclick: () => {
      descending = sortKey === column.key ? !descending : false;
      sortKey = column.key;
      render();
    } }, column.title);
    return el('th', { scope: 'col', dataset: { key: column.key } }, button);
  });
  const table = el('table', {}, el('caption', { class: 'sr-only' }, caption), el('thead', {}, el('tr', {}, headers)), body);
  function render() {
    const column = columns.find(c => c.key === sortKey);
    const value = column.value || (row => row[column.key]);
    const sorted = [...rows].sort((a, b) => {
      const x = value(a), y = value(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
      return descending ? -order : order;
    });
    headers.forEach((th, i) => th.setAttribute('aria-sort',
      columns[i].key === sortKey ? (descending ? 'descending' : 'ascending') : 'none'));
    body.replaceChildren(...sorted.map(row => el('tr', rowKey ? { dataset: { key: rowKey(row) } } : {},
      columns.map(c => el('td', { dataset: { col: c.key } }, c.cell ? c.cell(row) : String(row[c.key] ?? ''))))));
  }
  return { node: el('div', { class: 'table-wrap' }, table), update(next) { rows = next; render(); } };
}
