// A pod's log, followed as it is written (GET .../pods/{name}/logs?follow=true, read as a stream).

import { follow, query } from './api.js';
import { el, fill, notice } from './dom.js';
import { link } from './view-resource.js';

const MAX_LINES = 5000;

export function logsView(main, route) {
  const [cluster, namespace, pod] = route.parts;
  const container = route.params.get('container') || '';
  const output = el('pre', { id: 'log', class: 'log', tabindex: '0', 'aria-label': `Log of ${pod}` });
  const status = el('div', { id: 'log-status', role: 'status' }, 'Connecting…');
  const pause = el('button', { type: 'button', id: 'log-pause', 'aria-pressed': 'false' }, 'Pause scrolling');
  let paused = false;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
  });
  fill(main,
    el('p', { class: 'crumbs' }, el('a', { href: link(cluster, 'core', 'v1', 'pods', namespace, pod) }, `pod ${pod}`),
      ` · ${cluster} / ${namespace}`),
    el('h1', {}, 'Log of ', pod, container ? ` (${container})` : ''),
    el('div', { class: 'toolbar' }, status, pause), output);

  let partial = '';
  let lines = 0;
  const stop = follow(`/api/v1/clusters/${encodeURIComponent(cluster)}/pods/${encodeURIComponent(pod)}/logs${query({
    namespace, container, follow: 'true', tailLines: 200 })}`, text => {
    status.textContent = 'Following';
    status.dataset.state = 'following';
    const pieces = (partial + text).split('\n');
    partial = pieces.pop();
    if (pieces.length) {
      output.append(document.createTextNode(pieces.join('\n') + '\n'));
      lines += pieces.length;
      // Keep the page's memory flat on a long follow: drop the oldest text nodes.
      while (lines > MAX_LINES && output.firstChild) {
        lines -= (output.firstChild.textContent.match(/\n/g) || []).length;
        output.firstChild.remove();
      }
      if (!paused) output.scrollTop = output.scrollHeight;
    }
  }, error => {
    status.dataset.state = 'ended';
    fill(status, error ? notice(`The log stopped: ${error.message}`) : 'The log ended (the container stopped).');
  });
  return stop;
}
