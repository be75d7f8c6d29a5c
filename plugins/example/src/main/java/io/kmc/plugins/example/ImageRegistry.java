package io.kmc.plugins.example;

import io.kmc.plugin.PolicyFunction;

import java.util.List;

/**
 * {@code imageRegistry(image)}: the registry a container image reference pulls from, as the
 * container runtime reads it: {@code docker.io} when the first path element is not a host
 * ({@code nginx}, {@code library/nginx:1.27}), else that host ({@code ghcr.io/org/app@sha256:...}).
 */
final class ImageRegistry implements PolicyFunction {

  @Override
  public String name() {
    return "imageRegistry";
  }

  @Override
  public List<Type> parameters() {
    return List.of(Type.STRING);
  }

  @Override
  public Type result() {
    return Type.STRING;
  }

  @Override
  public Object call(List<Object> arguments) {
    return registry((String) arguments.get(0));
  }

  static String registry(String image) {
    int slash = image.indexOf('/');
    if (slash < 0) {
      return "docker.io";
    }
    String first = image.substring(0, slash);
    boolean host = first.contains(".") || first.contains(":") || first.equals("localhost");
    return host ? first : "docker.io";
  }
}
