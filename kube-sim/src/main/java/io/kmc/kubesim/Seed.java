package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * What a fresh kind/kubeadm cluster shows: the system namespaces, the kubernetes Service, a node,
 * a coredns-like Deployment (whose pods the controller starts) and a few ConfigMaps.
 */
final class Seed {

  private static final Registry.WriteOptions SEEDER = Registry.WriteOptions.internal("kube-apiserver");

  private Seed() {
  }

  /** The namespaces every cluster has; created even without seeding, since nothing works without "default". */
  static void namespaces(Registry registry, List<String> names) {
    ResourceType namespaces = type(registry, "", "Namespace");
    for (String name : names) {
      if (registry.find(namespaces, null, name) == null) {
        registry.create(namespaces, null, object("v1", "Namespace", null, name), SEEDER);
      }
    }
  }

  static void cluster(Registry registry, String gitVersion) {
    namespaces(registry, List.of("default", "kube-system", "kube-public", "kube-node-lease"));
    JsonObject kubernetes = object("v1", "Service", "default", "kubernetes");
    Json.child(Json.metadata(kubernetes), "labels").put("component", "apiserver").put("provider", "kubernetes");
    kubernetes.put("spec", new JsonObject().put("type", "ClusterIP").put("clusterIP", "10.96.0.1")
        .put("ports", new JsonArray().add(new JsonObject().put("name", "https").put("port", 443)
            .put("protocol", "TCP").put("targetPort", 6443))));
    registry.create(type(registry, "", "Service"), "default", kubernetes, SEEDER);

    JsonObject node = object("v1", "Node", null, "kube-sim-node");
    Json.child(Json.metadata(node), "labels").put("kubernetes.io/hostname", "kube-sim-node")
        .put("kubernetes.io/os", "linux").put("node-role.kubernetes.io/control-plane", "");
    ResourceType nodes = type(registry, "", "Node");
    JsonObject created = registry.create(nodes, null, node, SEEDER);
    JsonObject resources = new JsonObject().put("cpu", "4").put("memory", "16384Mi").put("pods", "110")
        .put("ephemeral-storage", "100Gi");
    String now = Json.now();
    created.put("status", new JsonObject()
        .put("capacity", resources)
        .put("allocatable", resources.copy().put("memory", "16084Mi"))
        .put("addresses", new JsonArray()
            .add(new JsonObject().put("type", "InternalIP").put("address", "10.0.0.1"))
            .add(new JsonObject().put("type", "Hostname").put("address", "kube-sim-node")))
        .put("nodeInfo", new JsonObject().put("kubeletVersion", gitVersion).put("kubeProxyVersion", gitVersion)
            .put("osImage", "kube-sim").put("operatingSystem", "linux").put("architecture", "amd64")
            .put("kernelVersion", "6.1.0").put("containerRuntimeVersion", "containerd://1.7.13"))
        .put("conditions", new JsonArray().add(new JsonObject().put("type", "Ready").put("status", "True")
            .put("lastHeartbeatTime", now).put("lastTransitionTime", now).put("reason", "KubeletReady")
            .put("message", "kubelet is posting ready status"))));
    registry.update(nodes, null, "kube-sim-node", created, "status", SEEDER);

    ResourceType configMaps = type(registry, "", "ConfigMap");
    for (String namespace : List.of("default", "kube-system", "kube-public", "kube-node-lease")) {
      JsonObject rootCa = object("v1", "ConfigMap", namespace, "kube-root-ca.crt");
      rootCa.put("data", new JsonObject()
          .put("ca.crt", "-----BEGIN CERTIFICATE-----\nkube-sim\n-----END CERTIFICATE-----\n"));
      registry.create(configMaps, namespace, rootCa, SEEDER);
    }
    JsonObject corefile = object("v1", "ConfigMap", "kube-system", "coredns");
    corefile.put("data", new JsonObject().put("Corefile",
        ".:53 {\n    errors\n    health\n    kubernetes cluster.local\n"
        + "    forward . /etc/resolv.conf\n    cache 30\n}\n"));
    registry.create(configMaps, "kube-system", corefile, SEEDER);
    JsonObject clusterInfo = object("v1", "ConfigMap", "kube-public", "cluster-info");
    clusterInfo.put("data", new JsonObject().put("kubeconfig", "apiVersion: v1\nkind: Config\n"));
    registry.create(configMaps, "kube-public", clusterInfo, SEEDER);

    registry.create(type(registry, "apps", "Deployment"), "kube-system", coredns(), SEEDER);
    JsonObject dns = object("v1", "Service", "kube-system", "kube-dns");
    Json.child(Json.metadata(dns), "labels").put("k8s-app", "kube-dns");
    dns.put("spec", new JsonObject().put("clusterIP", "10.96.0.10").put("selector", new JsonObject()
        .put("k8s-app", "kube-dns")).put("ports", new JsonArray()
        .add(new JsonObject().put("name", "dns").put("port", 53).put("protocol", "UDP"))
        .add(new JsonObject().put("name", "dns-tcp").put("port", 53).put("protocol", "TCP"))));
    registry.create(type(registry, "", "Service"), "kube-system", dns, SEEDER);
  }

  private static JsonObject coredns() {
    JsonObject labels = new JsonObject().put("k8s-app", "kube-dns");
    JsonObject deployment = object("apps/v1", "Deployment", "kube-system", "coredns");
    Json.metadata(deployment).put("labels", labels.copy());
    JsonObject container = new JsonObject()
        .put("name", "coredns")
        .put("image", "registry.k8s.io/coredns/coredns:v1.11.1")
        .put("args", new JsonArray().add("-conf").add("/etc/coredns/Corefile"))
        .put("ports", new JsonArray()
            .add(new JsonObject().put("name", "dns").put("containerPort", 53).put("protocol", "UDP"))
            .add(new JsonObject().put("name", "dns-tcp").put("containerPort", 53).put("protocol", "TCP")));
    deployment.put("spec", new JsonObject()
        .put("replicas", 2)
        .put("selector", new JsonObject().put("matchLabels", labels.copy()))
        .put("template", new JsonObject()
            .put("metadata", new JsonObject().put("labels", labels.copy()))
            .put("spec", new JsonObject().put("containers", new JsonArray().add(container)))));
    return deployment;
  }

  private static JsonObject object(String apiVersion, String kind, String namespace, String name) {
    JsonObject metadata = new JsonObject().put("name", name);
    if (namespace != null) {
      metadata.put("namespace", namespace);
    }
    return new JsonObject().put("apiVersion", apiVersion).put("kind", kind).put("metadata", metadata);
  }

  private static ResourceType type(Registry registry, String group, String kind) {
    return registry.catalog().findByGroupKind(group, kind).orElseThrow();
  }
}
