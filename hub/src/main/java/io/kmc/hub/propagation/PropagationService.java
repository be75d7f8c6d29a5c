package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.kmc.hub.policy.PolicyEngine;
import io.kmc.hub.policy.PolicyService;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the API does with propagations: validated writes (announced to the controller), reads with
 * the aggregated status, and the dry run. Any node serves these; only the controller applies.
 */
public final class PropagationService {

  private final Vertx vertx;
  private final PropagationStore store;
  private final ClusterRegistry clusters;
  private final PolicyService policies;
  private final Kube kube;

  public PropagationService(Vertx vertx, PropagationStore store, ClusterRegistry clusters, PolicyService policies,
                            Kube kube) {
    this.vertx = vertx;
    this.store = store;
    this.clusters = clusters;
    this.policies = policies;
    this.kube = kube;
  }

  public Future<List<JsonObject>> list() {
    return store.list().compose(all -> {
      List<Future<JsonObject>> views = new ArrayList<>();
      all.forEach(stored -> views.add(view(stored)));
      return Future.all(views).map(f -> f.<JsonObject>list());
    });
  }

  public Future<JsonObject> get(String name) {
    return store.get(name).compose(this::view);
  }

  public Future<JsonArray> revisions(String name) {
    return store.get(name).compose(s -> store.revisions(name));
  }

  public Future<JsonArray> events(String name) {
    return store.events(name, 200);
  }

  public Future<JsonObject> create(JsonObject manifest, String user) {
    Propagation p = Propagation.fromManifest(manifest);
    return checkKinds(p).compose(v -> store.create(p.name(), manifest, user)).compose(this::announced);
  }

  public Future<JsonObject> put(String name, JsonObject manifest, String user) {
    Propagation p = Propagation.fromManifest(manifest);
    if (!p.name().equals(name)) {
      return Future.failedFuture(KmcException.badRequest("metadata.name '" + p.name() + "' does not match the path's '"
          + Texts.forLog(name) + "'"));
    }
    return checkKinds(p).compose(v -> store.put(name, manifest, user)).compose(this::announced);
  }

  /** A JSON merge patch of the stored manifest (pause and resume: {@code {"spec":{"rollout":{"paused":true}}}}). */
  public Future<JsonObject> patch(String name, JsonObject patch, String user) {
    return store.get(name).compose(stored -> {
      JsonObject merged = io.kmc.hub.policy.Patches.apply(io.kmc.hub.policy.Patches.MERGE_PATCH, stored.manifest(),
          patch);
      return put(name, merged, user);
    });
  }

  public Future<Void> delete(String name, Boolean orphan, String user) {
    return store.get(name).compose(stored -> {
      boolean leave = orphan != null ? orphan : Propagation.fromManifest(stored.manifest()).orphan();
      return store.markDeleting(name, leave, user);
    }).compose(stored -> {
      vertx.eventBus().publish(PropagationController.CHANGED, new JsonObject().put("name", name));
      return Future.<Void>succeededFuture();
    });
  }

  private Future<JsonObject> announced(PropagationStore.Stored stored) {
    vertx.eventBus().publish(PropagationController.CHANGED, new JsonObject().put("name", stored.name()));
    return view(stored);
  }

  /**
   * Every kind the propagation names must be served by its clusters (or defined by a CRD it holds):
   * checked against the discovery of the first target cluster that answers. With none reachable,
   * the check is left to the apply, which reports it per cluster.
   */
  Future<Void> checkKinds(Propagation p) {
    List<ClusterRecord> targets = PropagationController.targets(p, clusters.list(), Set.of());
    Set<String> defined = PropagationController.crdGroups(p.resources());
    List<JsonObject> checked = p.resources().stream()
        .filter(r -> !defined.contains(PropagationController.group(Manifests.apiVersion(r)))).toList();
    return checkKinds(targets, 0, checked);
  }

  private Future<Void> checkKinds(List<ClusterRecord> targets, int index, List<JsonObject> objects) {
    if (index >= targets.size() || objects.isEmpty()) {
      return Future.succeededFuture();
    }
    String cluster = targets.get(index).name();
    List<String> unknown = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject o : objects) {
      chain = chain.compose(v -> kube.resolve(cluster, o)).map(found -> {
        if (found == null) {
          unknown.add(Manifests.kind(o) + " (" + Manifests.apiVersion(o) + ")");
        }
        return null;
      });
    }
    return chain.transform(ar -> {
      if (ar.failed()) {
        return checkKinds(targets, index + 1, objects); // unreachable: ask the next one
      }
      if (!unknown.isEmpty()) {
        return Future.failedFuture(KmcException.badRequest("unknown kind: cluster " + cluster + " does not serve "
            + String.join(", ", new java.util.LinkedHashSet<>(unknown))
            + "; a custom resource needs its CustomResourceDefinition in the cluster or in this propagation"));
      }
      return Future.succeededFuture();
    });
  }

  // --- status ---

  private Future<JsonObject> view(PropagationStore.Stored stored) {
    return store.status(stored.name()).map(rows -> {
      JsonObject view = stored.view();
      view.put("status", status(stored, rows));
      return view;
    });
  }

  /** Per-cluster status, the counts, a phase, and conditions (Applied, Healthy, Drifted, RolloutStopped, Paused). */
  JsonObject status(PropagationStore.Stored stored, List<PropagationStore.ClusterStatus> rows) {
    Propagation p;
    try {
      p = Propagation.fromManifest(stored.manifest());
    } catch (KmcException e) {
      return new JsonObject().put("phase", "Invalid").put("message", e.getMessage());
    }
    Map<String, PropagationStore.ClusterStatus> byCluster = new LinkedHashMap<>();
    rows.forEach(r -> byCluster.put(r.cluster(), r));
    List<ClusterRecord> targets = PropagationController.targets(p, clusters.list(), byCluster.keySet());
    Set<String> targetNames = targets.stream().map(ClusterRecord::name).collect(Collectors.toSet());
    JsonArray perCluster = new JsonArray();
    Map<String, Integer> counts = new LinkedHashMap<>();
    int applied = 0;
    int healthy = 0;
    int failed = 0;
    int drifted = 0;
    for (ClusterRecord c : targets) {
      PropagationStore.ClusterStatus row = byCluster.get(c.name());
      boolean current = row != null && row.generation() == stored.generation();
      String state = row == null ? PropagationController.PENDING
          : current || PropagationController.APPLYING.equals(row.state()) ? row.state() : PropagationController.PENDING;
      JsonObject entry = row == null ? new JsonObject().put("cluster", c.name()).put("state", state)
          .put("healthy", false) : row.toJson().put("state", state);
      if (row != null && !current && !PropagationController.APPLYING.equals(row.state()) && row.message() == null
          && row.generation() > 0) {
        entry.put("message", "generation " + row.generation() + " applied; " + stored.generation() + " pending");
      }
      perCluster.add(entry);
      counts.merge(state, 1, Integer::sum);
      if (current && (PropagationController.APPLIED.equals(state) || PropagationController.DRIFTED.equals(state))) {
        applied++;
        if (row.healthy()) {
          healthy++;
        }
      }
      failed += PropagationController.FAILED.equals(state) ? 1 : 0;
      drifted += PropagationController.DRIFTED.equals(state) ? 1 : 0;
    }
    for (PropagationStore.ClusterStatus row : rows) {
      if (!targetNames.contains(row.cluster())) {
        perCluster.add(row.toJson().put("state", PropagationController.REMOVING));
        counts.merge(PropagationController.REMOVING, 1, Integer::sum);
      }
    }
    boolean batched = p.rollout().batchSize(targets.size()) != Integer.MAX_VALUE;
    int n = targets.size();
    String phase;
    if (stored.deleting()) {
      phase = "Deleting";
    } else if (n == 0) {
      phase = "NoTargets";
    } else if (failed > 0 && batched) {
      phase = "Stopped";
    } else if (failed > 0) {
      phase = "Failed";
    } else if (p.rollout().paused() && applied < n) {
      phase = "Paused";
    } else if (drifted > 0) {
      phase = "Drifted";
    } else if (applied == n && healthy == n) {
      phase = "Healthy";
    } else if (applied == n) {
      phase = "Applied";
    } else {
      phase = "Progressing";
    }
    JsonArray conditions = new JsonArray()
        .add(condition("Applied", n > 0 && applied == n, applied + " of " + n + " cluster(s) have generation "
            + stored.generation()))
        .add(condition("Healthy", n > 0 && healthy == n, healthy + " of " + n + " cluster(s) healthy"))
        .add(condition("Drifted", drifted > 0, drifted + " cluster(s) drifted"))
        .add(condition("RolloutStopped", batched && failed > 0, failed + " cluster(s) failed"))
        .add(condition("Paused", p.rollout().paused(), p.rollout().paused() ? "spec.rollout.paused is true"
            : "not paused"));
    JsonObject summary = new JsonObject().put("targets", n);
    counts.forEach(summary::put);
    return new JsonObject().put("phase", phase).put("observedGeneration", stored.generation())
        .put("summary", summary).put("conditions", conditions).put("clusters", perCluster);
  }

  private static JsonObject condition(String type, boolean holds, String message) {
    return new JsonObject().put("type", type).put("status", holds ? "True" : "False").put("message", message);
  }

  // --- dry run ---

  /**
   * Renders the propagation for every target cluster and asks each cluster what server-side apply
   * would make of every object ({@code dryRun=All}), against what is there: the diff per object,
   * and the policies' verdict. Nothing is stored or applied.
   */
  public Future<JsonObject> dryRun(JsonObject manifest) {
    Propagation p = Propagation.fromManifest(manifest);
    List<ClusterRecord> targets = PropagationController.targets(p, clusters.list(), Set.of());
    List<Future<JsonObject>> perCluster = new ArrayList<>();
    for (ClusterRecord c : targets) {
      perCluster.add(dryRun(p, c).recover(e -> Future.succeededFuture(new JsonObject().put("cluster", c.name())
          .put("error", e.getMessage()))));
    }
    return Future.all(perCluster).map(all -> new JsonObject().put("apiVersion", Propagation.API_VERSION)
        .put("kind", "PropagationDryRun").put("name", p.name())
        .put("clusters", new JsonArray(all.<JsonObject>list())));
  }

  private Future<JsonObject> dryRun(Propagation p, ClusterRecord cluster) {
    List<JsonObject> rendered = Renderer.render(p, cluster.name(), cluster.labels());
    JsonArray objects = new JsonArray();
    JsonArray violations = new JsonArray();
    for (JsonObject object : rendered) {
      String apiVersion = Manifests.apiVersion(object);
      int slash = apiVersion.indexOf('/');
      PolicyEngine.Verdict verdict = policies.engine().evaluate(policies.current(), new PolicyEngine.Request("CREATE",
          cluster.name(), cluster.labels(), Manifests.kind(object), slash < 0 ? "" : apiVersion.substring(0, slash),
          slash < 0 ? apiVersion : apiVersion.substring(slash + 1), null, null, Manifests.namespace(object),
          Manifests.name(object), "kmc:propagation", List.of(), true, object, null));
      verdict.violations().forEach(v -> violations.add(new JsonObject().put("object", Manifests.kind(object) + " "
          + Manifests.name(object)).put("policy", v.policy()).put("action", v.action().name().toLowerCase())
          .put("message", v.message())));
    }
    Set<String> definedHere = new HashSet<>(PropagationController.crdGroups(rendered));
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject object : rendered) {
      chain = chain.compose(v -> kube.resolve(cluster.name(), object)).compose(resource -> {
        JsonObject entry = new JsonObject().put("apiVersion", Manifests.apiVersion(object))
            .put("kind", Manifests.kind(object)).put("name", Manifests.name(object))
            .put("namespace", Manifests.namespace(object)).put("rendered", object);
        objects.add(entry);
        if (resource == null) {
          boolean later = definedHere.contains(PropagationController.group(Manifests.apiVersion(object)));
          entry.put("action", later ? "create" : "error").put("message", later
              ? "defined by a CustomResourceDefinition of this propagation: not checked by the cluster"
              : "the cluster does not serve this kind");
          return Future.succeededFuture();
        }
        return kube.get(cluster.name(), resource, object).compose(live -> kube.apply(cluster.name(), resource,
            object, p.force(), true).map(result -> {
              JsonObject before = live.status() == 200 ? live.json() : null;
              if (result.status() >= 300) {
                entry.put("action", "error").put("message", result.message());
                return null;
              }
              JsonArray diff = ObjectDiff.diff(before, result.json());
              entry.put("action", before == null ? "create" : diff.isEmpty() ? "unchanged" : "update")
                  .put("diff", diff);
              return null;
            }));
      });
    }
    return chain.map(v -> new JsonObject().put("cluster", cluster.name())
        .put("allowed", violations.stream().noneMatch(x -> "deny".equals(((JsonObject) x).getString("action"))))
        .put("violations", violations).put("objects", objects));
  }
}
