package io.kmc.kubesim;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** The kubeconfig YAML for one simulator, as kubectl and client-java read it. */
final class Kubeconfig {

  private Kubeconfig() {
  }

  /** @param caPem the certificate to trust for an https URL, or null */
  static String render(String contextName, String url, String token, String caPem) {
    String user = token == null ? "    {}\n"
        : "    token: \"" + token.replace("\\", "\\\\").replace("\"", "\\\"") + "\"\n";
    String trust = caPem == null ? "" : "    certificate-authority-data: "
        + Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)) + "\n";
    return "apiVersion: v1\n"
        + "kind: Config\n"
        + "clusters:\n"
        + "- name: " + contextName + "\n"
        + "  cluster:\n"
        + "    server: " + url + "\n"
        + trust
        + "contexts:\n"
        + "- name: " + contextName + "\n"
        + "  context:\n"
        + "    cluster: " + contextName + "\n"
        + "    user: " + contextName + "\n"
        + "    namespace: default\n"
        + "current-context: " + contextName + "\n"
        + "users:\n"
        + "- name: " + contextName + "\n"
        + "  user:\n"
        + user;
  }
}
