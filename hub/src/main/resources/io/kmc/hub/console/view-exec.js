// A shell in a pod's container: the Kubernetes exec websocket (channel.k8s.io, v5 or v4) through the
// hub's pass-through, as kubectl exec uses it, with a one-use ticket in place of the Authorization header
// that a browser cannot put on a websocket.
//
// Two terminals. The full one is xterm.js (from its webjar, served by the hub beside these modules and
// loaded only when a shell is opened) with a TTY, as `kubectl exec -it`: keys go to the container as typed,
// the container's terminal echoes and edits the line, Ctrl-C interrupts, and the terminal's size follows
// the window (resize messages on channel 4). xterm's canvas renderer draws without <style> elements, so the
// strict Content-Security-Policy holds. If xterm cannot be loaded (or `?terminal=line` asks for it), the
// line terminal: a command line is sent on Enter to the shell's stdin without a TTY; stdout and stderr are
// shown as text as they come.

import { api, query } from './api.js';
import { el, fill, notice } from './dom.js';
import { link } from './view-resource.js';

const MAX_CHARS = 500000;
const STDIN = 0, STDOUT = 1, STDERR = 2, ERROR = 3, RESIZE = 4, CLOSE = 255;
const ASSETS = new URL('.', import.meta.url);

let xterm = null;

/** xterm.js and its fit addon, classic scripts from the hub (script-src 'self'), loaded once. */
function loadXterm() {
  if (!xterm) {
    xterm = Promise.all([
      new Promise((resolve, reject) => {
        const sheet = el('link', { rel: 'stylesheet', href: new URL('xterm.css', ASSETS).href });
        sheet.addEventListener('load', resolve);
        sheet.addEventListener('error', () => reject(new Error('xterm.css could not be loaded')));
        document.head.append(sheet);
      }),
      script('xterm.js').then(() => script('xterm-addon-fit.js')),
    ]).then(() => {
      if (typeof window.Terminal !== 'function') throw new Error('xterm.js defined no Terminal');
      return { Terminal: window.Terminal, FitAddon: window.FitAddon?.FitAddon };
    });
    xterm.catch(() => { xterm = null; });
  }
  return xterm;
}

function script(name) {
  return new Promise((resolve, reject) => {
    const node = el('script', { src: new URL(name, ASSETS).href });
    node.addEventListener('load', resolve);
    node.addEventListener('error', () => reject(new Error(`${name} could not be loaded`)));
    document.head.append(node);
  });
}

export function execView(main, route) {
  const [cluster, namespace, pod] = route.parts;
  let container = route.params.get('container') || '';
  const status = el('div', { id: 'terminal-status', role: 'status' }, 'Connecting…');
  const end = el('button', { type: 'button', id: 'terminal-end', disabled: true }, 'End session');
  const area = el('div', { id: 'terminal-area' });
  fill(main,
    el('p', { class: 'crumbs' }, el('a', { href: link(cluster, 'core', 'v1', 'pods', namespace, pod) }, `pod ${pod}`),
      ` · ${cluster} / ${namespace}`),
    el('h1', {}, 'Shell in ', pod, container ? ` (${container})` : ''),
    el('div', { class: 'toolbar' }, status, end), area);

  let socket = null;
  let closed = false;
  let terminal = null;
  const encoder = new TextEncoder();

  function frame(channel, bytes) {
    const message = new Uint8Array(bytes.length + 1);
    message[0] = channel;
    message.set(bytes, 1);
    return message;
  }

  function send(channel, text) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(frame(channel, encoder.encode(text)));
  }

  function finish(text, state) {
    end.disabled = true;
    status.dataset.state = state;
    fill(status, state === 'failed' ? notice(text) : text);
    terminal?.ended();
  }

  function endInput() {
    // v5: half-close stdin, and the shell ends as at the end of a script. v4 has no half-close: close.
    if (socket && socket.protocol.startsWith('v5')) socket.send(new Uint8Array([CLOSE, STDIN]));
    else if (socket) socket.close(1000);
  }
  end.addEventListener('click', endInput);

  /** The terminal that fits this browser: xterm with a TTY, else the line terminal. */
  async function chooseTerminal() {
    if (route.params.get('terminal') !== 'line') {
      try {
        const library = await loadXterm();
        return ttyTerminal(area, library, pod, send);
      } catch (e) {
        area.append(el('p', { class: 'muted', id: 'terminal-fallback' },
          `The full terminal could not be loaded (${e.message}): this is the line terminal.`));
      }
    }
    return lineTerminal(area, pod, send, endInput);
  }

  async function open() {
    try {
      terminal = await chooseTerminal();
      if (closed) return terminal.dispose();
      if (!container) {
        const object = await api('GET', `/api/v1/clusters/${encodeURIComponent(cluster)}/resources/core/v1/pods/`
          + `${encodeURIComponent(pod)}${query({ namespace })}`);
        container = object.spec?.containers?.[0]?.name || '';
      }
      const { ticket } = await api('POST', '/api/v1/stream/tickets');
      if (closed) return;
      // With a TTY, stderr is the terminal too (as kubectl exec -t asks): no stderr stream.
      const params = new URLSearchParams({ command: 'sh', stdin: 'true', stdout: 'true',
        stderr: terminal.tty ? 'false' : 'true', tty: terminal.tty ? 'true' : 'false' });
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
        status.dataset.tty = String(terminal.tty);
        status.textContent = `Connected to ${container || pod} (${ws.protocol || 'channel.k8s.io'}). `
          + (terminal.tty ? 'A terminal: Ctrl-C interrupts, Ctrl-D on an empty line ends.'
            : 'Type a command and press Enter; Ctrl-D ends.');
        end.disabled = false;
        terminal.opened();
      };
      ws.onmessage = event => {
        const bytes = new Uint8Array(event.data);
        if (bytes.length === 0) return;
        const channel = bytes[0];
        const payload = bytes.subarray(1);
        if (channel === STDOUT || channel === STDERR) {
          terminal.output(payload, channel === STDERR);
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
    terminal?.dispose();
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000);
    }
  };
}

/** xterm.js with a TTY: every key goes to the container, which echoes; the size follows the window. */
function ttyTerminal(area, { Terminal, FitAddon }, pod, send) {
  const box = el('div', { id: 'terminal', class: 'xterm-box', 'aria-label': `Terminal of the shell in ${pod}` });
  area.append(box);
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, screenReaderMode: true, fontSize: 13,
    fontFamily: 'ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace',
    theme: { background: '#101418', foreground: '#e6e6e6' } });
  const fit = FitAddon ? new FitAddon() : null;
  if (fit) term.loadAddon(fit);
  term.open(box);
  // xterm 4.9's screen-reader mirror gives its rows role=listitem under a parent without role=list: say it is one.
  box.querySelector('.xterm-accessibility-tree')?.setAttribute('role', 'list');
  fit?.fit();
  const decoder = new TextDecoder();
  const resize = () => send(RESIZE, JSON.stringify({ Width: term.cols, Height: term.rows }));
  let pending = 0;
  const onWindowResize = () => {
    // Once a frame at most while the window is dragged: fit, and xterm reports a new size if it changed.
    if (pending) return;
    pending = requestAnimationFrame(() => { pending = 0; fit?.fit(); });
  };
  const subscriptions = [];
  return {
    tty: true,
    opened() {
      resize();
      subscriptions.push(term.onData(data => send(STDIN, data)));
      subscriptions.push(term.onResize(() => {
        box.dataset.size = `${term.cols}x${term.rows}`;
        resize();
      }));
      box.dataset.size = `${term.cols}x${term.rows}`;
      window.addEventListener('resize', onWindowResize);
      term.focus();
    },
    output(bytes) {
      term.write(decoder.decode(bytes, { stream: true }));
    },
    ended() {
      subscriptions.forEach(s => s.dispose());
      subscriptions.length = 0;
      window.removeEventListener('resize', onWindowResize);
      term.setOption('disableStdin', true);
      term.setOption('cursorBlink', false);
    },
    dispose() {
      this.ended();
      if (pending) cancelAnimationFrame(pending);
      term.dispose();
    },
  };
}

/** No TTY: a command line is sent on Enter; ↑ and ↓ recall earlier ones; Ctrl-D on an empty line ends. */
function lineTerminal(area, pod, send, endInput) {
  const output = el('pre', { id: 'terminal', class: 'terminal', tabindex: '0', 'aria-live': 'polite',
    'aria-label': `Output of the shell in ${pod}` });
  const input = el('input', { id: 'terminal-input', type: 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-label': 'Command', disabled: true });
  const run = el('button', { type: 'submit', id: 'terminal-send', disabled: true }, 'Run');
  const history = [];
  let back = 0;
  const decoders = { [STDOUT]: new TextDecoder(), [STDERR]: new TextDecoder() };
  area.append(output, el('form', { class: 'terminal-input', onsubmit: event => {
    event.preventDefault();
    const line = input.value;
    input.value = '';
    if (input.disabled) return;
    write(`$ ${line}\n`, 'echo');
    if (line.trim()) history.push(line);
    back = history.length;
    send(STDIN, `${line}\n`);
  } }, el('label', { for: 'terminal-input', class: 'sr-only' }, 'Command'), el('span', { 'aria-hidden': 'true' }, '$'),
  input, run));

  function write(text, kind) {
    const node = kind ? el('span', { class: kind }, text) : document.createTextNode(text);
    output.append(node);
    // Keep the page's memory bounded on a long session: drop the oldest output.
    while (output.textContent.length > MAX_CHARS && output.firstChild) output.firstChild.remove();
    output.scrollTop = output.scrollHeight;
  }

  input.addEventListener('keydown', event => {
    if (event.key === 'ArrowUp' && back > 0) input.value = history[--back];
    else if (event.key === 'ArrowDown' && back < history.length) input.value = history[++back] || '';
    else if (event.key === 'd' && event.ctrlKey && input.value === '') endInput();
    else return;
    event.preventDefault();
  });

  return {
    tty: false,
    opened() {
      input.disabled = false;
      run.disabled = false;
      input.focus();
    },
    output(bytes, isError) {
      const channel = isError ? STDERR : STDOUT;
      const text = decoders[channel].decode(bytes, { stream: true });
      if (text) write(text, isError ? 'stderr' : null);
    },
    ended() {
      input.disabled = true;
      run.disabled = true;
    },
    dispose() {},
  };
}
