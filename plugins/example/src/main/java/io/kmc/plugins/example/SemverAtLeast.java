package io.kmc.plugins.example;

import io.kmc.plugin.PolicyFunction;

import java.util.List;

/**
 * {@code semverAtLeast(version, minimum)}: whether a version (such as an image tag, {@code v1.27.3}
 * or {@code 1.27}) is at least the minimum, comparing major, minor and patch numerically; false for
 * a version that is not of that form.
 */
final class SemverAtLeast implements PolicyFunction {

  @Override
  public String name() {
    return "semverAtLeast";
  }

  @Override
  public List<Type> parameters() {
    return List.of(Type.STRING, Type.STRING);
  }

  @Override
  public Type result() {
    return Type.BOOL;
  }

  @Override
  public Object call(List<Object> arguments) {
    long[] version = parse((String) arguments.get(0));
    long[] minimum = parse((String) arguments.get(1));
    if (version == null || minimum == null) {
      return false;
    }
    for (int i = 0; i < 3; i++) {
      if (version[i] != minimum[i]) {
        return version[i] > minimum[i];
      }
    }
    return true;
  }

  static long[] parse(String text) {
    String plain = text.startsWith("v") ? text.substring(1) : text;
    int cut = plain.indexOf('-');
    String[] parts = (cut < 0 ? plain : plain.substring(0, cut)).split("\\.");
    if (parts.length < 1 || parts.length > 3) {
      return null;
    }
    long[] numbers = new long[3];
    try {
      for (int i = 0; i < parts.length; i++) {
        numbers[i] = Long.parseLong(parts[i]);
      }
    } catch (NumberFormatException e) {
      return null;
    }
    return numbers;
  }
}
