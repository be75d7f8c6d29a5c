// A shell in a pod's container: the Kubernetes exec websocket (channel.k8s.io, v5 or v4) through the
// hub's pass-through, as kubectl exec uses it, with a one-use ticket in place of the Authorization header
// that a browser cannot put on a websocket. A line terminal: a command line is sent on Enter to the
// shell's stdin (no TTY, so no prompt and no full-screen programs); stdout and stderr are shown as they come.

import { api, query } from './api.js';
import { el, fill, notice } from './dom.js';
import { link } from './view-resource.js';

const MAX_CHARS = 500000;
const STDIN = 0, STDOUT = 1, STDERR = 2, ERROR = 3, CLOSE = 255;

export function execView(main, route) {
  const [cluster, namespace, pod] = route.parts;
  let container = route.params.get('container') || '';
  const output = el('pre', { id: 'terminal', class: 'terminal', tabindex: '0', 'aria-live': 'polite',
    'aria-label': `Output of the shell in ${pod}` });
  const status = el('div', { id: 'terminal-status', role: 'status' }, 'Connecting…');
  const input = el('input', { id: 'terminal-input', type: 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-label': 'Command', disabled: true });
  const send = el('button', { type: 'submit', id: 'terminal-send', disabled: true }, 'Run');
  const end = el('button', { type: 'button', id: 'terminal-end', disabled: true }, 'End session');
  const history = [];
  let back = 0;
  fill(main,
    el('p', { class: 'crumbs' }, el('a', { href: link(cluster, 'core', 'v1', 'pods', namespace, pod) }, `pod ${pod}`),
      ` · ${cluster} / ${namespace}`),
    el('h1', {}, 'Shell in ', pod, container ? ` (${container})` : ''),
    el('div', { class: 'toolbar' }, status, end), output,
    el('form', { class: 'terminal-input', onsubmit: event => {
      event.preventDefault();
      run(input.value);
      input.value = '';
    } }, el('label', { for: 'terminal-input', class: 'sr-only' }, 'Command'), el('span', { 'aria-hidden': 'true' }, '$'),
    input, send));

  let socket = null;
  let closed = false;
  const encoder = new TextEncoder();
  const decoders = { [STDOUT]: new TextDecoder(), [STDERR]: new TextDecoder() };

  function write(text, kind) {
    const node = kind ? el('span', { class: kind }, text) : document.createTextNode(text);
    output.append(node);
    // Keep the page's memory bounded on a long session: drop the oldest output.
    while (output.textContent.length > MAX_CHARS && output.firstChild) output.firstChild.remove();
    output.scrollTop = output.scrollHeight;
  }

  function frame(channel, bytes) {
    const message = new Uint8Array(bytes.length + 1);
    message[0] = channel;
    message.set(bytes, 1);
    return message;
  }

  function run(line) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    write(`$ ${line}\n`, 'echo');
    if (line.trim()) history.push(line);
    back = history.length;
    socket.send(frame(STDIN, encoder.encode(`${line}\n`)));
  }

  function finish(text, state) {
    input.disabled = true;
    send.disabled = true;
    end.disabled = true;
    status.dataset.state = state;
    fill(status, state === 'failed' ? notice(text) : text);
  }

  input.addEventListener('keydown', event => {
    if (event.key === 'ArrowUp' && back > 0) input.value = history[--back];
    else if (event.key === 'ArrowDown' && back < history.length) input.value = history[++back] || '';
    else if (event.key === 'd' && event.ctrlKey && input.value === '') {
      event.preventDefault();
      endInput();
    } else return;
    event.preventDefault();
  });

  function endInput() {
    // v5: half-close stdin, and the shell ends as at the end of a script. v4 has no half-close: close.
    if (socket && socket.protocol.startsWith('v5')) socket.send(new Uint8Array([CLOSE, STDIN]));
    else if (socket) socket.close(1000);
  }
  end.addEventListener('click', endInput);

  async function open() {
    try {
      if (!container) {
        const object = await api('GET', `/api/v1/clusters/${encodeURIComponent(cluster)}/resources/core/v1/pods/`
          + `${encodeURIComponent(pod)}${query({ namespace })}`);
        container = object.spec?.containers?.[0]?.name || '';
      }
      const { ticket } = await api('POST', '/api/v1/stream/tickets');
      if (closed) return;
      const params = new URLSearchParams({ command: 'sh', stdin: 'true', stdout: 'true', stderr: 'true' });
      if (container) params.set('container', container);
      params.set('ticket', ticket);
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      const ws = new WebSocket(`${scheme}://${location.host}/k8s/clusters/${encodeURIComponent(cluster)}/api/v1/namespaces/`
        + `${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec?${params}`,
      ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
      ws.binaryType = 'arraybuffer';
      socket = ws;
      ws.onopen = () => {
        status.dataset.state = 'open';
        status.textContent = `Connected to ${container || pod} (${ws.protocol || 'channel.k8s.io'}). Type a command and press Enter; Ctrl-D ends.`;
        input.disabled = false;
        send.disabled = false;
        end.disabled = false;
        input.focus();
      };
      ws.onmessage = event => {
        const bytes = new Uint8Array(event.data);
        if (bytes.length === 0) return;
        const channel = bytes[0];
        const payload = bytes.subarray(1);
        if (channel === STDOUT || channel === STDERR) {
          const text = decoders[channel].decode(payload, { stream: true });
          if (text) write(text, channel === STDERR ? 'stderr' : null);
        } else if (channel === ERROR && payload.length) {
          const text = new TextDecoder().decode(payload);
          let ended = text;
          try {
            const result = JSON.parse(text);
            const code = result.details?.causes?.find(c => c.reason === 'ExitCode')?.message;
            ended = result.status === 'Success' ? 'The shell ended.' : `The shell ended: ${code ? `exit code ${code}` : result.message}`;
          } catch (e) { /* a plain message (before v4) */ }
          finish(ended, 'ended');
        }
      };
      ws.onclose = event => {
        if (socket !== ws) return;
        socket = null;
        if (status.dataset.state === 'ended' || closed) return;
        finish(event.code === 1000 ? 'The session ended.' : 'The session could not be opened or was cut '
          + `(${event.code}${event.reason ? `: ${event.reason}` : ''}). The hub's audit log says why.`,
        event.code === 1000 ? 'ended' : 'failed');
      };
    } catch (e) {
      finish(`Could not open a shell: ${e.message}`, 'failed');
    }
  }

  open();
  return () => {
    closed = true;
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000);
    }
  };
}
