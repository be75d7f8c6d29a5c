package io.kmc.hub.index;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The WHERE clause of a {@link FleetQuery}, with its values as parameters (never spliced into the
 * text). RBAC comes first: what a caller may not see is never selected, so pages and counts are
 * right.
 */
record SqlWhere(String sql, List<Object> args) {

  static SqlWhere of(FleetQuery q) {
    List<String> terms = new ArrayList<>();
    List<Object> args = new ArrayList<>();
    // RBAC: a resource visible in the whole cluster, or in this namespace of it. The clusters alone
    // first, which the primary key's index can answer; the pairs then filter what it finds.
    java.util.Set<String> clusters = new java.util.TreeSet<>();
    q.visible().everywhere().forEach(key -> clusters.add(key.substring(0, key.indexOf('|'))));
    q.visible().namespaces().forEach(key -> clusters.add(key.substring(0, key.indexOf('|'))));
    terms.add("o.cluster = any(" + arg(args, clusters.toArray(new String[0])) + ")");
    terms.add("((o.cluster || '|' || o.resource) = any(" + arg(args, q.visible().everywhere().toArray(new String[0]))
        + ") or (o.cluster || '|' || o.resource || '|' || o.namespace) = any("
        + arg(args, q.visible().namespaces().toArray(new String[0])) + "))");
    if (q.group() != null) {
      terms.add("o.api_group = " + arg(args, q.group()));
    }
    if (q.resource() != null) {
      terms.add("o.resource = " + arg(args, q.resource()));
    }
    if (q.kind() != null) {
      String kind = q.kind();
      int dot = kind.indexOf('.');
      if (dot > 0) {
        terms.add("(o.resource = " + arg(args, kind.substring(0, dot)) + " and o.api_group = "
            + arg(args, kind.substring(dot + 1)) + ")");
      } else {
        terms.add("(lower(o.kind) = " + arg(args, kind.toLowerCase(java.util.Locale.ROOT)) + " or o.resource = "
            + arg(args, kind) + ")");
      }
    }
    if (q.namespace() != null) {
      terms.add("o.namespace = " + arg(args, q.namespace()));
    }
    if (q.name() != null) {
      terms.add("o.name = " + arg(args, q.name()));
    }
    if (q.namePrefix() != null) {
      terms.add("o.name like " + arg(args, likeEscape(q.namePrefix()) + "%"));
    }
    if (q.nameContains() != null) {
      terms.add("strpos(o.name, " + arg(args, q.nameContains()) + ") > 0");
    }
    if (q.owner() != null) {
      terms.add("o.owner = " + arg(args, q.owner()));
    }
    for (Map.Entry<String, String> field : q.summary().entrySet()) {
      terms.add("(o.summary ->> " + arg(args, field.getKey()) + ") = " + arg(args, field.getValue()));
    }
    for (Selector.Requirement r : q.labels().requirements()) {
      switch (r.operator()) {
        case EQUALS -> terms.add("o.labels @> " + arg(args, new JsonObject().put(r.key(), r.values().iterator().next()))
            + "::jsonb");
        case NOT_EQUALS -> terms.add("not (o.labels @> " + arg(args,
            new JsonObject().put(r.key(), r.values().iterator().next())) + "::jsonb)");
        case IN -> terms.add("(o.labels ->> " + arg(args, r.key()) + ") = any(" + arg(args,
            r.values().toArray(new String[0])) + ")");
        case NOT_IN -> terms.add("not coalesce((o.labels ->> " + arg(args, r.key()) + ") = any(" + arg(args,
            r.values().toArray(new String[0])) + "), false)");
        case EXISTS -> terms.add("o.labels ? " + arg(args, r.key()));
        case NOT_EXISTS -> terms.add("not (o.labels ? " + arg(args, r.key()) + ")");
      }
    }
    return new SqlWhere(String.join(" and ", terms), args);
  }

  private static String arg(List<Object> args, Object value) {
    args.add(value);
    return "$" + args.size();
  }

  private static String likeEscape(String text) {
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }
}
