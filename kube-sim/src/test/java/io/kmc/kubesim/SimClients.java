package io.kmc.kubesim;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;

/** Test support: client-java clients for a simulator, each its own instance (never the global default). */
final class SimClients {

  private SimClients() {
  }

  /** A client built from the simulator's kubeconfig, as an application would build one. */
  static ApiClient forRequests(KubeSim sim) {
    try {
      return ClientBuilder.kubeconfig(KubeConfig.loadKubeConfig(new StringReader(sim.kubeconfig("sim")))).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A client for watches and informers: no read timeout, since a quiet watch sends nothing for a long time. */
  static ApiClient forWatches(KubeSim sim) {
    ApiClient client = forRequests(sim);
    client.setReadTimeout(0);
    return client;
  }
}
