package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.index.FieldFilter;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.index.FleetQuery;
import io.kmc.hub.index.Selector;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Search and aggregated lists over the fleet index (docs/api.md): {@code GET /api/v1/search},
 * {@code GET /api/v1/resources/{group}/{version}/{plural}} and {@code GET /api/v1/resources/counts}.
 * Answers come from the index alone: an offline or slow cluster never delays them; its items are
 * marked stale with the time its index was last current.
 */
public final class SearchApi {

  /** How the core group is written in resource paths: {@code core} or {@code -}. */
  static final Set<String> CORE_GROUP = Set.of("core", "-");
  private static final int DEFAULT_LIMIT = 100;

  private final FleetAccess access;
  private final int maxPageSize;

  SearchApi(FleetAccess access, int maxPageSize) {
    this.access = access;
    this.maxPageSize = maxPageSize;
  }

  public static SearchApi create(FleetIndex index, Authorizer authorizer,
                                 ClusterRegistry clusters, Presence presence,
                                 long pingTimeoutMillis, int maxPageSize) {
    return new SearchApi(new FleetAccess(index, authorizer, clusters, presence, pingTimeoutMillis), maxPageSize);
  }

  FleetAccess access() {
    return access;
  }

  int maxPageSize() {
    return maxPageSize;
  }

  public void search(RoutingContext ctx) {
    answer(ctx, null, null, null);
  }

  public void resources(RoutingContext ctx) {
    String group = ctx.pathParam("group");
    answer(ctx, CORE_GROUP.contains(group) ? "" : group, ctx.pathParam("version"), ctx.pathParam("plural"));
  }

  /** Objects per cluster and kind, of what the caller may list. */
  public void counts(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    Set<String> clusterNames = names(params);
    Selector clusterSelector = Selector.parse(params.get("clusterSelector"), "clusterSelector");
    access.visible(Authenticator.principal(ctx), clusterNames, clusterSelector, kind -> true, "list")
        .compose(visible -> access.index().countByKind(visible.visibility()).compose(counts ->
            access.states().map(states -> {
              JsonObject clusters = new JsonObject();
              long total = 0;
              for (Map.Entry<String, Map<String, Long>> cluster : new TreeMap<>(counts).entrySet()) {
                JsonObject kinds = new JsonObject();
                new TreeMap<>(cluster.getValue()).forEach(kinds::put);
                total += cluster.getValue().values().stream().mapToLong(Long::longValue).sum();
                JsonObject entry = new JsonObject().put("kinds", kinds);
                stale(entry, states.get(cluster.getKey()));
                clusters.put(cluster.getKey(), entry);
              }
              return new JsonObject().put("clusters", clusters).put("total", total);
            })))
        .onSuccess(body -> json(ctx, body))
        .onFailure(ctx::fail);
  }

  private void answer(RoutingContext ctx, String group, String version, String plural) {
    FleetQuery query;
    MultiMap params = ctx.queryParams();
    Set<String> clusterNames;
    Selector clusterSelector;
    try {
      clusterNames = names(params);
      clusterSelector = Selector.parse(params.get("clusterSelector"), "clusterSelector");
      query = query(params, group, version, plural, null, maxPageSize);
    } catch (KmcException e) {
      ctx.fail(e);
      return;
    }
    Predicate<FleetIndex.Kind> kinds = kind -> (group == null || kind.group().equals(group))
        && (plural == null || kind.resource().equals(plural));
    FleetQuery base = query;
    // The clusters' states do not depend on what the caller may see: read beside the query, not after it.
    Future<Map<String, FleetAccess.ClusterState>> states = access.states();
    access.visible(Authenticator.principal(ctx), clusterNames, clusterSelector, kinds, "list")
        .compose(visible -> {
          FleetQuery scoped = withVisibility(base, visible.visibility());
          return Future.all(access.index().search(scoped), states)
              .map(done -> page(scoped, done.resultAt(0), done.resultAt(1)));
        })
        .onSuccess(body -> json(ctx, body))
        .onFailure(ctx::fail);
  }

  static FleetQuery withVisibility(FleetQuery q, FleetQuery.Visibility visibility) {
    return new FleetQuery(q.group(), q.version(), q.resource(), q.kind(), q.namespace(), q.name(), q.namePrefix(),
        q.nameContains(), q.owner(), q.summary(), q.labels(), q.sort(), q.limit(), q.offset(), q.after(), visibility);
  }

  /** The query the parameters ask for; visibility is filled in later. */
  static FleetQuery query(MultiMap params, String group, String version, String plural, String namespace,
                          int maxPageSize) {
    FieldFilter fields = FieldFilter.parse(params.names(), params::get);
    List<FleetQuery.Sort> sort = new ArrayList<>();
    String sortParam = params.get("sort");
    if (sortParam != null && !sortParam.isBlank()) {
      for (String key : sortParam.split(",")) {
        key = key.trim();
        boolean descending = key.startsWith("-");
        String column = descending ? key.substring(1) : key;
        if (!FleetQuery.COLUMNS.containsKey(column)) {
          throw KmcException.badRequest("cannot sort by '" + column + "'; sortable: "
              + new TreeMap<>(FleetQuery.COLUMNS).keySet());
        }
        sort.add(new FleetQuery.Sort(column, descending));
      }
    }
    int limit = DEFAULT_LIMIT;
    String limitParam = params.get("limit");
    if (limitParam != null && !limitParam.isBlank()) {
      try {
        limit = Integer.parseInt(limitParam.trim());
      } catch (NumberFormatException e) {
        throw KmcException.badRequest("limit must be a number");
      }
      if (limit <= 0) {
        limit = maxPageSize;
      }
      limit = Math.min(limit, maxPageSize);
    }
    Continue start = Continue.parse(params.get("continue"), sort);
    return new FleetQuery(group, version, plural, FieldFilter.bounded(params.get("kind"), "kind", 317),
        namespace != null ? namespace : FieldFilter.bounded(params.get("namespace"), "namespace", 63),
        fields.name(), fields.namePrefix(), fields.nameContains(), fields.owner(), fields.summary(),
        Selector.parse(params.get("labelSelector"), "labelSelector"), sort, limit, start.offset(), start.after(), null);
  }

  /** {@code cluster=a,b} or repeated; null for any. */
  static Set<String> names(MultiMap params) {
    List<String> values = params.getAll("cluster");
    if (values.isEmpty()) {
      return null;
    }
    Set<String> names = new LinkedHashSet<>();
    for (String value : values) {
      for (String name : value.split(",")) {
        if (!name.isBlank()) {
          names.add(name.trim());
        }
      }
    }
    return names;
  }

  /**
   * A token that pages by key: the offset it stands for (as an offset token does) and the sort values of
   * the page's last row, so the next page starts right after it instead of sorting everything before it.
   */
  static String continueToken(long offset, FleetQuery query, FleetIndex.Item last) {
    JsonArray key = new JsonArray();
    for (String column : query.keyColumns()) {
      key.add(switch (column) {
        case "cluster" -> last.cluster();
        case "namespace" -> last.namespace();
        case "name" -> last.name();
        case "kind" -> last.kind();
        case "group" -> last.group();
        default -> last.resource();
      });
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("k:" + offset + ":" + key.encode())
        .getBytes(StandardCharsets.UTF_8));
  }

  static String continueToken(long offset) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("o:" + offset).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Where a page starts, from the {@code continue} token of the one before: an offset ("o:" tokens, and
   * "k:" ones too), and for a keyed token the sort values of that page's last row; 400 for anything else,
   * or for a key of another sort.
   */
  record Continue(long offset, List<String> after) {
    static final Continue START = new Continue(0, null);

    static Continue parse(String token, List<FleetQuery.Sort> sort) {
      if (token == null || token.isEmpty()) {
        return START;
      }
      try {
        String text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        boolean keyed = text.startsWith("k:");
        if (text.startsWith("o:") || keyed) {
          int end = keyed ? text.indexOf(':', 2) : text.length();
          long offset = Long.parseLong(text.substring(2, end < 0 ? text.length() : end));
          if (offset >= 0) {
            return new Continue(offset, keyed ? key(text.substring(end + 1), sort) : null);
          }
        }
      } catch (IllegalArgumentException e) {
        // answered below
      }
      throw KmcException.badRequest("continue is not a token this hub gave out");
    }

    private static List<String> key(String json, List<FleetQuery.Sort> sort) {
      List<String> key = new ArrayList<>();
      try {
        for (Object value : new JsonArray(json)) {
          if (!(value instanceof String s)) {
            throw KmcException.badRequest("continue is not a token this hub gave out");
          }
          key.add(s);
        }
      } catch (RuntimeException e) {
        throw KmcException.badRequest("continue is not a token this hub gave out");
      }
      if (key.size() != sort.size() + FleetQuery.TIEBREAK.size()) {
        throw KmcException.badRequest("continue is a token of another sort; start again without it");
      }
      return key;
    }
  }

  private static JsonObject page(FleetQuery query, FleetIndex.Page page, Map<String, FleetAccess.ClusterState> states) {
    JsonArray items = new JsonArray();
    for (FleetIndex.Item item : page.items()) {
      JsonObject json = new JsonObject().put("cluster", item.cluster()).put("group", item.group())
          .put("version", item.version()).put("resource", item.resource()).put("kind", item.kind());
      if (!item.namespace().isEmpty()) {
        json.put("namespace", item.namespace());
      }
      json.put("name", item.name()).put("uid", item.uid()).put("resourceVersion", item.resourceVersion())
          .put("labels", item.labels()).put("owner", item.owner())
          .put("created", item.created() == null ? null : item.created().toInstant().toString())
          .put("summary", item.summary());
      stale(json, states.get(item.cluster()));
      items.add(json);
    }
    JsonObject clusters = new JsonObject();
    long total = 0;
    for (Map.Entry<String, Long> count : new TreeMap<>(page.counts()).entrySet()) {
      total += count.getValue();
      JsonObject entry = new JsonObject().put("count", count.getValue());
      stale(entry, states.get(count.getKey()));
      clusters.put(count.getKey(), entry);
    }
    JsonObject body = new JsonObject().put("items", items).put("total", total).put("clusters", clusters);
    if (page.more()) {
      body.put("continue", query.keyed() && !page.items().isEmpty()
          ? continueToken(query.offset() + query.limit(), query, page.items().get(page.items().size() - 1))
          : continueToken(query.offset() + query.limit()));
    }
    return body;
  }

  private static void stale(JsonObject json, FleetAccess.ClusterState state) {
    boolean stale = state == null || !state.live();
    json.put("stale", stale);
    if (stale && state != null && state.lastSync() != null) {
      json.put("lastSync", state.lastSync().toInstant().toString());
    }
  }

  private static void json(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.toBuffer());
  }
}
