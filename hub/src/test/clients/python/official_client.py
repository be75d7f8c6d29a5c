"""The official Kubernetes Python client (Debian's python3-kubernetes) through the kmc hub.

Usage: python3 official_client.py KUBECONFIG NAMESPACE
Prints one line per step; exits non-zero with the reason at the first step that does not behave
as it does against a real kube-apiserver. Driven by ClientsIT.
"""
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream


def step(name):
    print("ok", name, flush=True)


def main(kubeconfig, ns):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    names = [n.metadata.name for n in core.list_namespace().items]
    assert "kube-system" in names, names
    step("list namespaces")

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings", labels={"app": "py"}), data={"k": "v"}))
    assert core.read_namespaced_config_map("settings", ns).data == {"k": "v"}
    core.patch_namespaced_config_map("settings", ns, {"data": {"k": "w"}})
    assert core.read_namespaced_config_map("settings", ns).data == {"k": "w"}
    listed = core.list_namespaced_config_map(ns, label_selector="app=py")
    assert [c.metadata.name for c in listed.items] == ["settings"], listed.items
    step("configmap create, read, patch, list by label")

    try:
        core.read_namespaced_config_map("missing", ns)
        raise AssertionError("a missing configmap was found")
    except ApiException as error:
        assert error.status == 404, error
        assert "not found" in error.body, error.body
    step("404 as ApiException")

    resource_version = core.list_namespaced_config_map(ns).metadata.resource_version

    def create_later():
        time.sleep(0.5)
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched")))

    threading.Thread(target=create_later).start()
    seen = None
    events = watch.Watch()
    for event in events.stream(core.list_namespaced_config_map, ns, resource_version=resource_version,
                               timeout_seconds=30):
        if event["type"] == "ADDED" and event["object"].metadata.name == "watched":
            seen = event
            events.stop()
    assert seen is not None, "the watch ended without the ADDED event"
    step("watch")

    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}}})
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 2}})
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 2
    step("deployment create and scale")

    pod = None
    deadline = time.time() + 60
    while time.time() < deadline:
        pods = core.list_namespaced_pod(ns, label_selector="app=web").items
        running = [p for p in pods if p.status.phase == "Running"]
        if running:
            pod = running[0].metadata.name
            break
        time.sleep(0.2)
    assert pod is not None, "no pod of the deployment ran"
    out = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["echo", "hello from exec"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out.strip() == "hello from exec", repr(out)
    step("exec")

    logs = core.read_namespaced_pod_log(pod, ns)
    assert isinstance(logs, str), logs
    step("logs")

    core.delete_namespace(ns)
    step("delete namespace")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    print("done", flush=True)
