package io.kmc.hub.propagation;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the controller learns that applied objects drifted: the seam between the controller and
 * whatever watches the clusters. {@link Polling} reads the objects through the tunnel; an
 * implementation fed by the agents' informers can take its place without the controller changing.
 */
public interface DriftSource {

  /**
   * What drifted of the objects kmc applied to the cluster (rendered, as applied): one line per
   * object, naming the fields; empty when nothing did. Fails when the cluster cannot be reached.
   */
  Future<List<String>> drifted(String cluster, List<JsonObject> applied);

  /** Reads every applied object and compares the fields kmc applied (those it manages) with what is there. */
  final class Polling implements DriftSource {
    private final Kube kube;

    public Polling(Kube kube) {
      this.kube = kube;
    }

    @Override
    public Future<List<String>> drifted(String cluster, List<JsonObject> applied) {
      List<String> found = new ArrayList<>();
      Future<Void> chain = Future.succeededFuture();
      for (JsonObject object : applied) {
        chain = chain.compose(v -> kube.resolve(cluster, object)).compose(resource -> {
          String what = Manifests.kind(object) + " " + Manifests.name(object);
          if (resource == null) {
            found.add(what + ": its kind is no longer served");
            return Future.succeededFuture();
          }
          return kube.get(cluster, resource, object).map(answer -> {
            if (answer.status() == 404) {
              found.add(what + ": deleted");
            } else if (answer.status() == 200) {
              List<String> paths = ObjectDiff.drift(object, answer.json());
              if (!paths.isEmpty()) {
                found.add(what + ": " + String.join(", ", paths));
              }
            }
            return null;
          });
        });
      }
      return chain.map(v -> found);
    }
  }
}
