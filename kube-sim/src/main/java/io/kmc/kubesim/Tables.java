package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Server-side printing: the {@code meta.k8s.io} Table that {@code kubectl get} asks for
 * (Accept {@code application/json;as=Table;v=v1;g=meta.k8s.io}). Columns follow the real
 * printers for the common kinds, CRD additionalPrinterColumns for custom kinds, and Name/Age
 * otherwise.
 */
final class Tables {

  /** What each row carries in {@code object}: the query parameter {@code includeObject}. */
  enum IncludeObject { NONE, METADATA, OBJECT;

    static IncludeObject parse(String value) {
      if (value == null) {
        return METADATA;
      }
      return switch (value) {
        case "None" -> NONE;
        case "Object" -> OBJECT;
        default -> METADATA;
      };
    }
  }

  private record Column(String name, String type, String format, int priority, String description,
      Function<JsonObject, Object> cell) {
  }

  private Tables() {
  }

  /** A Table for a list (or a single object when {@code objects} has one item and metadata is empty). */
  static JsonObject table(ResourceType type, List<JsonObject> objects, JsonObject listMetadata,
      IncludeObject include, String tableApiVersion, boolean withColumnDefinitions) {
    List<Column> columns = columns(type);
    JsonArray definitions = new JsonArray();
    for (Column column : columns) {
      definitions.add(new JsonObject().put("name", column.name()).put("type", column.type())
          .put("format", column.format()).put("description", column.description()).put("priority", column.priority()));
    }
    JsonArray rows = new JsonArray();
    for (JsonObject object : objects) {
      JsonArray cells = new JsonArray();
      for (Column column : columns) {
        cells.add(column.cell().apply(object));
      }
      JsonObject row = new JsonObject().put("cells", cells);
      switch (include) {
        case OBJECT -> row.put("object", object);
        case METADATA -> row.put("object", partialMetadata(object));
        default -> { }
      }
      rows.add(row);
    }
    JsonObject table = new JsonObject()
        .put("kind", "Table")
        .put("apiVersion", tableApiVersion)
        .put("metadata", listMetadata);
    if (withColumnDefinitions) {
      table.put("columnDefinitions", definitions);
    }
    return table.put("rows", rows);
  }

  static JsonObject partialMetadata(JsonObject object) {
    return new JsonObject()
        .put("kind", "PartialObjectMetadata")
        .put("apiVersion", "meta.k8s.io/v1")
        .put("metadata", object.getJsonObject("metadata", new JsonObject()).copy());
  }

  private static List<Column> columns(ResourceType type) {
    List<Column> columns = new ArrayList<>();
    if (type.kind().equals("Event") && (type.group().isEmpty() || type.group().equals("events.k8s.io"))) {
      return eventColumns();
    }
    columns.add(new Column("Name", "string", "name", 0, "Name must be unique within a namespace.",
        Json::name));
    String key = type.group() + "/" + type.kind();
    switch (key) {
      case "/Pod" -> {
        columns.add(text("Ready", 0, Tables::podReady));
        columns.add(text("Status", 0, Tables::podStatus));
        columns.add(new Column("Restarts", "string", "", 0, "The number of times the containers have restarted.",
            Tables::podRestarts));
        columns.add(age());
        columns.add(text("IP", 1, o -> orNone(Json.stringAt(o, "status.podIP"))));
        columns.add(text("Node", 1, o -> orNone(Json.stringAt(o, "spec.nodeName"))));
        columns.add(text("Nominated Node", 1, o -> "<none>"));
        columns.add(text("Readiness Gates", 1, o -> "<none>"));
      }
      case "apps/Deployment" -> {
        columns.add(text("Ready", 0, o -> integer(o, "status.readyReplicas") + "/" + integer(o, "spec.replicas")));
        columns.add(number("Up-to-date", o -> integer(o, "status.updatedReplicas")));
        columns.add(number("Available", o -> integer(o, "status.availableReplicas")));
        columns.add(age());
        columns.add(text("Containers", 1, o -> containerField(o, "name")));
        columns.add(text("Images", 1, o -> containerField(o, "image")));
        columns.add(text("Selector", 1, o -> selector(Json.objectAt(o, "spec", "selector", "matchLabels"))));
      }
      case "apps/ReplicaSet" -> {
        columns.add(number("Desired", o -> integer(o, "spec.replicas")));
        columns.add(number("Current", o -> integer(o, "status.replicas")));
        columns.add(number("Ready", o -> integer(o, "status.readyReplicas")));
        columns.add(age());
        columns.add(text("Containers", 1, o -> containerField(o, "name")));
        columns.add(text("Images", 1, o -> containerField(o, "image")));
        columns.add(text("Selector", 1, o -> selector(Json.objectAt(o, "spec", "selector", "matchLabels"))));
      }
      case "apps/StatefulSet" -> {
        columns.add(text("Ready", 0, o -> integer(o, "status.readyReplicas") + "/" + integer(o, "spec.replicas")));
        columns.add(age());
      }
      case "apps/DaemonSet" -> {
        columns.add(number("Desired", o -> integer(o, "status.desiredNumberScheduled")));
        columns.add(number("Current", o -> integer(o, "status.currentNumberScheduled")));
        columns.add(number("Ready", o -> integer(o, "status.numberReady")));
        columns.add(age());
      }
      case "/Service" -> {
        columns.add(text("Type", 0, o -> Json.stringAt(o, "spec.type")));
        columns.add(text("Cluster-IP", 0, o -> orNone(Json.stringAt(o, "spec.clusterIP"))));
        columns.add(text("External-IP", 0, o -> "<none>"));
        columns.add(text("Port(s)", 0, Tables::servicePorts));
        columns.add(age());
        columns.add(text("Selector", 1, o -> selector(Json.objectAt(o, "spec", "selector"))));
      }
      case "/Namespace" -> {
        columns.add(text("Status", 0, o -> Json.stringAt(o, "status.phase")));
        columns.add(age());
      }
      case "/ConfigMap" -> {
        columns.add(number("Data", o -> size(o, "data") + size(o, "binaryData")));
        columns.add(age());
      }
      case "/Secret" -> {
        columns.add(text("Type", 0, o -> Json.stringAt(o, "type").isEmpty() ? "Opaque" : Json.stringAt(o, "type")));
        columns.add(number("Data", o -> size(o, "data")));
        columns.add(age());
      }
      case "/Node" -> {
        columns.add(text("Status", 0, o -> "Ready"));
        columns.add(text("Roles", 0, o -> "<none>"));
        columns.add(age());
        columns.add(text("Version", 0, o -> Json.stringAt(o, "status.nodeInfo.kubeletVersion")));
      }
      case "batch/Job" -> {
        columns.add(text("Completions", 0, o -> integer(o, "status.succeeded") + "/"
            + (Json.valueAt(o, "spec.completions") == null ? 1 : integer(o, "spec.completions"))));
        columns.add(age());
      }
      case "apiextensions.k8s.io/CustomResourceDefinition" ->
          columns.add(new Column("Created At", "date", "", 0, "", o -> Json.stringAt(o, "metadata.creationTimestamp")));
      default -> {
        if (type.printerColumns().isEmpty()) {
          columns.add(age());
        } else {
          addPrinterColumns(type, columns);
        }
      }
    }
    return columns;
  }

  /**
   * The event printer's columns, for both core/v1 and events.k8s.io/v1 Events (which name the same
   * fields differently: involvedObject/regarding, message/note, lastTimestamp/deprecatedLastTimestamp).
   */
  private static List<Column> eventColumns() {
    return List.of(
        text("Last Seen", 0, Tables::eventLastSeen),
        text("Type", 0, o -> Json.stringAt(o, "type")),
        text("Reason", 0, o -> Json.stringAt(o, "reason")),
        text("Object", 0, o -> {
          JsonObject about = eventField(o, "involvedObject", "regarding") instanceof JsonObject json ? json
              : new JsonObject();
          String kind = about.getString("kind", "").toLowerCase();
          String name = about.getString("name", "");
          return name.isEmpty() ? kind : kind + "/" + name;
        }),
        text("Subobject", 1, o -> eventField(o, "involvedObject", "regarding") instanceof JsonObject about
            ? about.getString("fieldPath", "") : ""),
        text("Source", 1, Tables::eventSource),
        text("Message", 0, o -> String.valueOf(Objects.requireNonNullElse(eventField(o, "message", "note"), ""))
            .strip()),
        text("First Seen", 1, Tables::eventFirstSeen),
        text("Count", 1, o -> Long.toString(eventCount(o))),
        text("Name", 1, Json::name));
  }

  private static Object eventField(JsonObject event, String coreName, String eventsName) {
    Object value = event.getValue(coreName);
    return value != null ? value : event.getValue(eventsName);
  }

  private static String eventFirstSeen(JsonObject event) {
    Object first = eventField(event, "firstTimestamp", "deprecatedFirstTimestamp");
    return first != null ? age(String.valueOf(first)) : age(Json.stringAt(event, "eventTime"));
  }

  private static long eventCount(JsonObject event) {
    Object seriesCount = Json.valueAt(event, "series.count");
    if (seriesCount instanceof Number n) {
      return n.longValue();
    }
    Object count = eventField(event, "count", "deprecatedCount");
    return count instanceof Number n && n.longValue() > 0 ? n.longValue() : 1;
  }

  private static String eventLastSeen(JsonObject event) {
    String first = eventFirstSeen(event);
    Object last = Json.valueAt(event, "series.lastObservedTime");
    if (last == null) {
      last = eventField(event, "lastTimestamp", "deprecatedLastTimestamp");
    }
    String lastSeen = last == null ? first : age(String.valueOf(last));
    long count = eventCount(event);
    return count > 1 ? lastSeen + " (x" + count + " over " + first + ")" : lastSeen;
  }

  private static String eventSource(JsonObject event) {
    Object source = eventField(event, "source", "deprecatedSource");
    String component = source instanceof JsonObject json ? json.getString("component", "") : "";
    String host = source instanceof JsonObject json ? json.getString("host", "") : "";
    if (component.isEmpty()) {
      component = String.valueOf(Objects.requireNonNullElse(eventField(event, "reportingComponent",
          "reportingController"), ""));
      host = event.getString("reportingInstance", "");
    }
    return host.isEmpty() ? component : component + ", " + host;
  }

  private static void addPrinterColumns(ResourceType type, List<Column> columns) {
    for (Object o : type.printerColumns()) {
      JsonObject column = (JsonObject) o;
      String path = column.getString("jsonPath", "");
      String columnType = column.getString("type", "string");
      boolean isAge = "date".equals(columnType) && path.equals(".metadata.creationTimestamp");
      Function<JsonObject, Object> cell = isAge ? Tables::age
          : object -> {
            Object value = path.startsWith(".") ? Json.valueAt(object, path.substring(1)) : null;
            return value == null ? null : "date".equals(columnType) ? age(String.valueOf(value)) : value;
          };
      columns.add(new Column(column.getString("name", path), isAge || "date".equals(columnType) ? "string"
          : columnType, column.getString("format", ""), column.getInteger("priority", 0),
          column.getString("description", ""), cell));
    }
  }

  private static Column text(String name, int priority, Function<JsonObject, Object> cell) {
    return new Column(name, "string", "", priority, "", cell);
  }

  private static Column number(String name, Function<JsonObject, Object> cell) {
    return new Column(name, "integer", "", 0, "", cell);
  }

  private static Column age() {
    return new Column("Age", "string", "", 0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.", Tables::age);
  }

  private static Object age(JsonObject object) {
    return age(Json.stringAt(object, "metadata.creationTimestamp"));
  }

  private static String age(String timestamp) {
    if (timestamp.isEmpty()) {
      return "<unknown>";
    }
    try {
      return humanDuration(Duration.between(Instant.parse(timestamp), Instant.now()));
    } catch (RuntimeException e) {
      return "<unknown>";
    }
  }

  /** The apimachinery {@code duration.HumanDuration} format: 5s, 3m20s, 10m, 4h5m, 2d3h, 400d, 3y20d. */
  static String humanDuration(Duration d) {
    long seconds = d.getSeconds();
    if (seconds < -1) {
      return "<invalid>";
    }
    if (seconds < 0) {
      return "0s";
    }
    if (seconds < 120) {
      return seconds + "s";
    }
    long minutes = seconds / 60;
    if (minutes < 10) {
      return seconds % 60 == 0 ? minutes + "m" : minutes + "m" + (seconds % 60) + "s";
    }
    if (minutes < 180) {
      return minutes + "m";
    }
    long hours = minutes / 60;
    if (hours < 8) {
      return minutes % 60 == 0 ? hours + "h" : hours + "h" + (minutes % 60) + "m";
    }
    if (hours < 48) {
      return hours + "h";
    }
    if (hours < 24 * 8) {
      return hours % 24 == 0 ? (hours / 24) + "d" : (hours / 24) + "d" + (hours % 24) + "h";
    }
    if (hours < 24 * 365 * 2) {
      return (hours / 24) + "d";
    }
    long days = hours / 24;
    if (hours < 24 * 365 * 8) {
      return days % 365 == 0 ? (days / 365) + "y" : (days / 365) + "y" + (days % 365) + "d";
    }
    return (days / 365) + "y";
  }

  private static long integer(JsonObject object, String path) {
    Object value = Json.valueAt(object, path);
    return value instanceof Number n ? n.longValue() : 0;
  }

  private static int size(JsonObject object, String field) {
    return object.getValue(field) instanceof JsonObject json ? json.size() : 0;
  }

  private static String orNone(String value) {
    return value.isEmpty() ? "<none>" : value;
  }

  private static String podReady(JsonObject pod) {
    JsonArray statuses = Json.arrayAt(pod, "status", "containerStatuses");
    long ready = statuses.stream().filter(s -> s instanceof JsonObject st && st.getBoolean("ready", false)).count();
    return ready + "/" + Json.arrayAt(pod, "spec", "containers").size();
  }

  private static String podStatus(JsonObject pod) {
    if (Json.valueAt(pod, "metadata.deletionTimestamp") != null) {
      return "Terminating";
    }
    String phase = Json.stringAt(pod, "status.phase");
    return phase.isEmpty() ? "Pending" : phase;
  }

  private static Object podRestarts(JsonObject pod) {
    long restarts = 0;
    for (Object s : Json.arrayAt(pod, "status", "containerStatuses")) {
      restarts += s instanceof JsonObject status ? status.getLong("restartCount", 0L) : 0;
    }
    return Long.toString(restarts);
  }

  private static String containerField(JsonObject deployment, String field) {
    List<String> values = new ArrayList<>();
    for (Object c : Json.arrayAt(deployment, "spec", "template", "spec", "containers")) {
      if (c instanceof JsonObject container) {
        values.add(container.getString(field, ""));
      }
    }
    return String.join(",", values);
  }

  private static String selector(JsonObject labels) {
    if (labels == null || labels.isEmpty()) {
      return "<none>";
    }
    List<String> terms = new ArrayList<>();
    labels.forEach(e -> terms.add(e.getKey() + "=" + e.getValue()));
    return String.join(",", terms);
  }

  private static String servicePorts(JsonObject service) {
    List<String> ports = new ArrayList<>();
    for (Object p : Json.arrayAt(service, "spec", "ports")) {
      if (p instanceof JsonObject port) {
        String nodePort = port.getValue("nodePort") == null ? "" : ":" + port.getValue("nodePort");
        ports.add(port.getValue("port") + nodePort + "/" + port.getString("protocol", "TCP"));
      }
    }
    return ports.isEmpty() ? "<none>" : String.join(",", ports);
  }
}
