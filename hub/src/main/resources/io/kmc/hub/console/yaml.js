// Kubernetes objects as YAML, for reading (a small serializer: maps, lists, scalars; strings quoted
// when YAML would read them as something else).

const PLAIN = /^[A-Za-z0-9_./@-][A-Za-z0-9 _./@:=+-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|null|~|-?\d[\d_.]*(e[+-]?\d+)?|0x[0-9a-f]+|\.nan|\.inf|-\.inf)$/i;

function scalar(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  if (text !== '' && PLAIN.test(text) && !SPECIAL.test(text) && !text.endsWith(' ') && !text.includes(': ')) return text;
  return JSON.stringify(text);
}

function lines(value, indent, out) {
  const pad = '  '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return false;
    for (const item of value) {
      if (item !== null && typeof item === 'object' && Object.keys(item).length) {
        const nested = [];
        lines(item, indent + 1, nested);
        out.push(`${pad}- ${nested[0].trimStart()}`, ...nested.slice(1));
      } else {
        out.push(`${pad}- ${inline(item)}`);
      }
    }
    return true;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return false;
    for (const key of keys) {
      const item = value[key];
      if (item !== null && typeof item === 'object' && Object.keys(item).length) {
        out.push(`${pad}${scalar(key)}:`);
        lines(item, Array.isArray(item) ? indent : indent + 1, out);
      } else {
        out.push(`${pad}${scalar(key)}: ${inline(item)}`);
      }
    }
    return true;
  }
  out.push(pad + scalar(value));
  return true;
}

function inline(value) {
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  if (typeof value === 'string' && value.includes('\n')) {
    return JSON.stringify(value);
  }
  return scalar(value);
}

export function toYaml(object) {
  const out = [];
  if (!lines(object, 0, out)) return inline(object);
  return out.join('\n') + '\n';
}
