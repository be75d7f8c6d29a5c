package io.kmc.hub.index;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One question to the fleet index: which objects, in which order, which page. Nulls mean "any".
 *
 * @param kind         a kind name ({@code Deployment}), a resource ({@code deployments}) or
 *                     {@code resource.group} ({@code deployments.apps}), for /search; null with
 *                     {@code group}/{@code resource} set by the resource path
 * @param summary      status summary fields that must equal the given text ({@code phase=Running})
 * @param visible      where the caller may look, from RBAC; the query never leaves it
 */
public record FleetQuery(String group, String version, String resource, String kind, String namespace, String name,
                         String namePrefix, String nameContains, String owner, Map<String, String> summary,
                         Selector labels, List<Sort> sort, int limit, long offset, List<String> after,
                         Visibility visible) {

  /** Columns that are text and never null: a sort by them alone, ascending, can page by key. */
  private static final java.util.Set<String> KEYED = java.util.Set.of("cluster", "namespace", "name", "kind", "group",
      "resource");
  /** What breaks ties after the caller's sort: the primary key, which makes every row's place unique. */
  public static final List<String> TIEBREAK = List.of("cluster", "group", "resource", "namespace", "name");

  /**
   * Whether pages follow each other by key ({@code after}: the sort values of the previous page's last
   * row) rather than by offset: every sort column ascending and never null. A page by key costs the same
   * at the 100th page as at the first; one by offset sorts everything before it again.
   */
  public boolean keyed() {
    return sort.stream().allMatch(s -> !s.descending() && KEYED.contains(s.column()));
  }

  /** The columns of a keyed page's key: the sort's, then the tiebreak. */
  public List<String> keyColumns() {
    List<String> columns = new java.util.ArrayList<>();
    sort.forEach(s -> columns.add(s.column()));
    columns.addAll(TIEBREAK);
    return columns;
  }

  /** A sort key: one of {@link #COLUMNS}, ascending unless {@code descending}. */
  public record Sort(String column, boolean descending) {
  }

  /** Sortable columns, by the name callers use → SQL. */
  public static final Map<String, String> COLUMNS = Map.of(
      "cluster", "o.cluster", "namespace", "o.namespace", "name", "o.name", "kind", "o.kind",
      "group", "o.api_group", "resource", "o.resource", "created", "o.created", "resourceVersion",
      "o.resource_version", "owner", "o.owner");

  /**
   * Where a caller may look: per cluster, the resources visible in every namespace (and the
   * cluster-scoped objects), and per cluster and resource the namespaces visible one by one.
   *
   * @param everywhere keys {@code <cluster>|<resource>}
   * @param namespaces keys {@code <cluster>|<resource>|<namespace>}
   */
  public record Visibility(Set<String> everywhere, Set<String> namespaces) {
    public boolean nothing() {
      return everywhere.isEmpty() && namespaces.isEmpty();
    }
  }
}
