package io.kmc.plugin;

import java.util.List;

/**
 * A global function policies may call in CEL: {@code name(arg, ...)}. One overload per instance
 * (several instances may share a name with other parameter types). Runs on an event loop within a
 * write's admission: it must be quick, never block and never do I/O.
 */
public interface PolicyFunction {

  /** CEL's value types, as the function sees them in Java. */
  enum Type {
    /** {@link String} */
    STRING(String.class),
    /** {@link Long} */
    INT(Long.class),
    /** {@link Double} */
    DOUBLE(Double.class),
    /** {@link Boolean} */
    BOOL(Boolean.class),
    /** {@link java.util.List} of any values */
    LIST(java.util.List.class),
    /** {@link java.util.Map} from strings to any values */
    MAP(java.util.Map.class),
    /** any value */
    DYN(Object.class);

    private final Class<?> javaType;

    Type(Class<?> javaType) {
      this.javaType = javaType;
    }

    public Class<?> javaType() {
      return javaType;
    }
  }

  /** The function's name in CEL: letters, digits and '_', starting with a letter. */
  String name();

  List<Type> parameters();

  Type result();

  /**
   * Computes the result from arguments of the declared types. An exception fails the evaluation
   * (which the policy's failurePolicy then decides about).
   */
  Object call(List<Object> arguments);
}
