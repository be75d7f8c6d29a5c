// CPU and memory from a cluster's metrics.k8s.io (metrics-server, or kube-sim's), read through the hub's
// Kubernetes pass-through as the signed-in user. A cluster without the metrics API, or a user who may not
// read it, gets null: the views show "—", not an error.

import { api } from './api.js';

const SUFFIXES = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes quantity ("250m", "1.5", "204800Ki", "123456789n") as a number; NaN if it is none. */
export function quantity(text) {
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(String(text ?? '').trim());
  if (!match || !(match[2] in SUFFIXES)) return NaN;
  return Number(match[1]) * SUFFIXES[match[2]];
}

function k8s(cluster, path) {
  return api('GET', `/k8s/clusters/${encodeURIComponent(cluster)}${path}`);
}

function sum(items, field, resource) {
  return items.reduce((total, item) => total + (quantity(item[field]?.[resource]) || 0), 0);
}

/**
 * A cluster's use: { cpu, memory } in cores and bytes summed over its nodes, with { cpuAllocatable,
 * memoryAllocatable } when the user may list nodes; null when there is no metrics API to ask.
 */
export async function clusterUsage(cluster) {
  let metrics;
  try {
    metrics = await k8s(cluster, '/apis/metrics.k8s.io/v1beta1/nodes');
  } catch (e) {
    return null;
  }
  const items = metrics?.items || [];
  if (items.length === 0) return null;
  const usage = { cpu: sum(items, 'usage', 'cpu'), memory: sum(items, 'usage', 'memory') };
  try {
    const nodes = (await k8s(cluster, '/api/v1/nodes')).items || [];
    const named = new Set(items.map(item => item.metadata?.name));
    const measured = nodes.filter(node => named.has(node.metadata?.name)).map(node => node.status || {});
    usage.cpuAllocatable = sum(measured, 'allocatable', 'cpu') || undefined;
    usage.memoryAllocatable = sum(measured, 'allocatable', 'memory') || undefined;
  } catch (e) {
    // Use without a share of the total.
  }
  return usage;
}

/** A pod's use summed over its containers ({ cpu, memory }), or null when there is no metrics API to ask. */
export async function podUsage(cluster, namespace, pod) {
  try {
    const metrics = await k8s(cluster,
      `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}`);
    const containers = metrics?.containers || [];
    return { cpu: sum(containers, 'usage', 'cpu'), memory: sum(containers, 'usage', 'memory') };
  } catch (e) {
    return null;
  }
}

export function cores(value) {
  return value >= 1 ? `${value.toFixed(2)} cores` : `${Math.round(value * 1000)}m`;
}

export function bytes(value) {
  if (value >= 2 ** 30) return `${(value / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.round(value / 2 ** 20)} MiB`;
}

/** "1.20 cores of 4 (30%)", "512 MiB", or "—". */
export function usageText(used, allocatable, format) {
  if (used === undefined || used === null) return '—';
  if (!allocatable) return format(used);
  return `${format(used)} of ${format(allocatable)} (${Math.round(100 * used / allocatable)}%)`;
}
