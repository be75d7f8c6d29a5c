package io.kmc.kubesim;

/** The kubeconfig YAML for one simulator, as kubectl and client-java read it. */
final class Kubeconfig {

  private Kubeconfig() {
  }

  static String render(String contextName, String url, String token) {
    String user = token == null ? "    {}\n" : "    token: " + token + "\n";
    return "apiVersion: v1\n"
        + "kind: Config\n"
        + "clusters:\n"
        + "- name: " + contextName + "\n"
        + "  cluster:\n"
        + "    server: " + url + "\n"
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
