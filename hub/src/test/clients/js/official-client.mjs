// The official Kubernetes JavaScript client (@kubernetes/client-node) through the kmc hub.
//
// Usage: node official-client.mjs KUBECONFIG NAMESPACE
// Prints one line per step; exits non-zero with the reason at the first step that does not behave
// as it does against a real kube-apiserver. Driven by ClientsIT.
import * as k8s from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import assert from 'node:assert/strict';

const [kubeconfig, ns] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const step = (name) => console.log('ok', name);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const namespaces = await core.listNamespace();
assert.ok(namespaces.items.some((n) => n.metadata.name === 'kube-system'));
step('list namespaces');

await core.createNamespace({ body: { metadata: { name: ns } } });
await core.createNamespacedConfigMap({
  namespace: ns,
  body: { metadata: { name: 'settings', labels: { app: 'js' } }, data: { k: 'v' } },
});
assert.deepEqual((await core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data, { k: 'v' });
await core.patchNamespacedConfigMap(
  { name: 'settings', namespace: ns, body: { data: { k: 'w' } } },
  k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
);
assert.deepEqual((await core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data, { k: 'w' });
const labelled = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'app=js' });
assert.deepEqual(labelled.items.map((c) => c.metadata.name), ['settings']);
step('configmap create, read, patch, list by label');

await assert.rejects(core.readNamespacedConfigMap({ name: 'missing', namespace: ns }), (error) => {
  assert.equal(error.code, 404);
  assert.match(String(error.body), /not found/);
  return true;
});
step('404 as ApiException');

const resourceVersion = (await core.listNamespacedConfigMap({ namespace: ns })).metadata.resourceVersion;
const added = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no ADDED event within 30 s')), 30000);
  new k8s.Watch(kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion },
    (type, object) => {
      if (type === 'ADDED' && object.metadata.name === 'watched') {
        clearTimeout(timer);
        resolve();
      }
    },
    (error) => error && reject(error),
  ).then((request) => added.finally(() => request.abort()), reject);
});
await sleep(500);
await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'watched' } } });
await added;
step('watch');

await apps.createNamespacedDeployment({
  namespace: ns,
  body: {
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
      },
    },
  },
});
await apps.patchNamespacedDeploymentScale(
  { name: 'web', namespace: ns, body: { spec: { replicas: 2 } } },
  k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
);
assert.equal((await apps.readNamespacedDeployment({ name: 'web', namespace: ns })).spec.replicas, 2);
step('deployment create and scale');

let pod;
for (const deadline = Date.now() + 60000; !pod && Date.now() < deadline; await sleep(200)) {
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
  pod = pods.items.find((p) => p.status?.phase === 'Running')?.metadata.name;
}
assert.ok(pod, 'no pod of the deployment ran');
let out = '';
const stdout = new Writable({ write(chunk, encoding, done) { out += chunk; done(); } });
const status = await new Promise((resolve, reject) => {
  new k8s.Exec(kc).exec(ns, pod, 'main', ['echo', 'hello from exec'], stdout, null, null, false, resolve)
    .catch(reject);
});
assert.equal(status.status, 'Success', JSON.stringify(status));
assert.equal(out.trim(), 'hello from exec');
step('exec');

await core.deleteNamespace({ name: ns });
step('delete namespace');
console.log('done');
