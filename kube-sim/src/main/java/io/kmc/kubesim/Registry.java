package io.kmc.kubesim;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.UUID;

/**
 * The Kubernetes semantics of reads and writes, on top of {@link ObjectStore}: server-set
 * metadata (uid, creationTimestamp, generation, managedFields), optimistic concurrency, dry runs,
 * finalizers, namespace and owner cascades, CRDs becoming served kinds, and paged lists.
 * The HTTP layer and the controller both write through here, so watches see every change.
 */
final class Registry {

  /** How a write was asked for. {@code manager} names the field manager recorded in managedFields. */
  record WriteOptions(boolean dryRun, String manager) {
    static WriteOptions internal(String manager) {
      return new WriteOptions(false, manager);
    }
  }

  /** One page of a list, with the list's resourceVersion and the token for the next page (or null). */
  record Page(List<JsonObject> items, String resourceVersion, String continueToken, Long remainingItemCount) {
  }

  /** A kind answered from what is stored rather than stored itself (the metrics API): read-only. */
  interface ComputedResource {
    /** The objects of one namespace (null: every namespace), keyed and sorted like the store's entries. */
    NavigableMap<String, JsonObject> entries(String namespace);
  }

  private final ResourceCatalog catalog;
  private final ObjectStore store;
  private final Random random = new Random();
  private final Map<String, ComputedResource> computed = new HashMap<>();
  private int nextClusterIp = 10;

  Registry(ResourceCatalog catalog, ObjectStore store) {
    this.catalog = catalog;
    this.store = store;
  }

  ResourceCatalog catalog() {
    return catalog;
  }

  ObjectStore store() {
    return store;
  }

  /** Serves reads of {@code type} from {@code resource} instead of the store. */
  void serveComputed(ResourceType type, ComputedResource resource) {
    computed.put(type.groupResource(), resource);
  }

  /** The stored (or computed) object, not a copy: callers must not change it. */
  private JsonObject stored(ResourceType type, String namespace, String name) {
    ComputedResource resource = computed.get(type.groupResource());
    if (resource != null) {
      return resource.entries(scoped(type, namespace)).get(ObjectStore.key(scoped(type, namespace), name));
    }
    return store.get(type.storageResource(), scoped(type, namespace), name);
  }

  private NavigableMap<String, JsonObject> entries(ResourceType type, String namespace) {
    ComputedResource resource = computed.get(type.groupResource());
    return resource != null ? resource.entries(scoped(type, namespace))
        : store.entries(type.storageResource(), scoped(type, namespace));
  }

  JsonObject get(ResourceType type, String namespace, String name) {
    JsonObject stored = stored(type, namespace, name);
    if (stored == null) {
      throw KubeApiException.notFound(type, name);
    }
    return view(type, stored);
  }

  /** The object or null, for callers for whom absence is not an error. */
  JsonObject find(ResourceType type, String namespace, String name) {
    JsonObject stored = stored(type, namespace, name);
    return stored == null ? null : view(type, stored);
  }

  Page list(ResourceType type, String namespace, LabelSelector labels, FieldSelector fields, long limit,
      String continueToken) {
    String listRevision = Long.toString(store.revision());
    NavigableMap<String, JsonObject> entries = entries(type, namespace);
    if (continueToken != null && !continueToken.isEmpty()) {
      JsonObject position = decodeContinue(continueToken);
      long tokenRevision = Long.parseLong(position.getString("rv", "0"));
      if (tokenRevision < store.compactedRevision()) {
        throw new KubeApiException(410, "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new"
                + " list without the continue parameter, or use the continue token in this response to retrieve"
                + " the remainder of the results. Continuing with the provided token results in an inconsistent"
                + " list - objects that were created, modified, or deleted between the time the first chunk was"
                + " returned and now may show up in the list.", null);
      }
      listRevision = position.getString("rv");
      entries = entries.tailMap(position.getString("start", ""), false);
    }
    List<JsonObject> items = new ArrayList<>();
    String lastKey = null;
    long remaining = 0;
    for (Map.Entry<String, JsonObject> entry : entries.entrySet()) {
      // Selectors see the object as this type shows it (field names differ for converted kinds).
      JsonObject object = StorageVersions.converts(type) ? view(type, entry.getValue()) : entry.getValue();
      if (!labels.matches(object) || !fields.matches(object)) {
        continue;
      }
      if (limit > 0 && items.size() >= limit) {
        remaining++;
        continue;
      }
      items.add(StorageVersions.converts(type) ? object : view(type, object));
      lastKey = entry.getKey();
    }
    String next = remaining > 0 ? encodeContinue(listRevision, lastKey) : null;
    return new Page(items, listRevision, next, remaining > 0 ? remaining : null);
  }

  JsonObject create(ResourceType type, String namespace, JsonObject body, WriteOptions options) {
    JsonObject object = body.copy();
    checkKind(type, object);
    object = StorageVersions.toStorage(type, object);
    if (type.is("authorization.k8s.io", "SelfSubjectAccessReview")) {
      // A question, not an object: answered (yes to everything) and never stored.
      return object.put("status", new JsonObject().put("allowed", true).put("reason", "kube-sim allows everything"));
    }
    JsonObject metadata = Json.metadata(object);
    String name = metadata.getString("name");
    if ((name == null || name.isEmpty()) && metadata.getString("generateName") != null) {
      name = ObjectRules.generateName(metadata.getString("generateName"), random);
      metadata.put("name", name);
    }
    if (name == null || name.isEmpty()) {
      throw KubeApiException.invalid(type, "", "metadata.name", "Required value: name or generateName is required");
    }
    namespace = checkNamespace(type, namespace, metadata);
    String nameProblem = ObjectRules.nameProblem(type, name);
    if (nameProblem != null) {
      throw KubeApiException.invalid(type, name, "metadata.name", "Invalid value: \"" + name + "\": " + nameProblem);
    }
    if (type.namespaced() && store.get("namespaces", null, namespace) == null) {
      throw KubeApiException.notFound("", "namespaces", namespace);
    }
    if (store.get(type.storageResource(), namespace, name) != null) {
      throw KubeApiException.alreadyExists(type, name);
    }
    for (String serverField : List.of("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds")) {
      metadata.remove(serverField);
    }
    metadata.put("uid", UUID.randomUUID().toString());
    metadata.put("creationTimestamp", Json.now());
    metadata.put("generation", 1);
    ObjectRules.prepareForCreate(type, object, this::nextClusterIp);
    if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      checkCrd(type, object);
    }
    if (options.manager() != null && !metadata.containsKey("managedFields")) {
      ManagedFields.record(object, options.manager(), "Update", type.groupVersion(), null,
          ManagedFields.fieldSet(object));
    }
    if (options.dryRun()) {
      return object;
    }
    JsonObject created = store.put(type.storageResource(), object);
    if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      catalog.registerCrd(created);
    }
    return view(type, created);
  }

  /**
   * Replaces an object (PUT, and the end of every patch). {@code subresource} is null for the
   * main resource or "status": the main resource keeps the stored status, status keeps the rest.
   */
  JsonObject update(ResourceType type, String namespace, String name, JsonObject body, String subresource,
      WriteOptions options) {
    JsonObject existing = store.get(type.storageResource(), scoped(type, namespace), name);
    if (existing == null) {
      throw KubeApiException.notFound(type, name);
    }
    JsonObject object = body.copy();
    checkKind(type, object);
    object = StorageVersions.toStorage(type, object);
    JsonObject metadata = Json.metadata(object);
    if (metadata.getString("name") != null && !name.equals(metadata.getString("name"))) {
      throw KubeApiException.badRequest("the name of the object (" + metadata.getString("name")
          + ") does not match the name on the URL (" + name + ")");
    }
    metadata.put("name", name);
    checkNamespace(type, namespace, metadata);
    JsonObject existingMetadata = existing.getJsonObject("metadata");
    String expectedVersion = metadata.getString("resourceVersion");
    if (expectedVersion != null && !expectedVersion.isEmpty()
        && !expectedVersion.equals(existingMetadata.getString("resourceVersion"))) {
      throw KubeApiException.staleResourceVersion(type, name);
    }
    if ("status".equals(subresource)) {
      JsonObject withNewStatus = existing.copy();
      if (object.containsKey("status")) {
        withNewStatus.put("status", object.getValue("status"));
      } else {
        withNewStatus.remove("status");
      }
      object = withNewStatus;
      metadata = Json.metadata(object);
    } else if (type.hasStatus()) {
      if (existing.containsKey("status")) {
        object.put("status", existing.getValue("status"));
      } else {
        object.remove("status");
      }
    }
    for (String serverField : List.of("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "generation")) {
      if (existingMetadata.containsKey(serverField)) {
        metadata.put(serverField, existingMetadata.getValue(serverField));
      } else {
        metadata.remove(serverField);
      }
    }
    if (!metadata.containsKey("managedFields") && existingMetadata.containsKey("managedFields")) {
      metadata.put("managedFields", existingMetadata.getJsonArray("managedFields").copy());
    }
    if (specChanged(existing, object)) {
      metadata.put("generation", existingMetadata.getLong("generation", 0L) + 1);
    }
    if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      checkCrd(type, object);
      object.put("status", ObjectRules.crdStatus(object));
    }
    if (unchanged(existing, object)) {
      return view(type, existing);
    }
    if (options.manager() != null && sameManagedFields(existing, object)) {
      ManagedFields.record(object, options.manager(), "Update", type.groupVersion(), subresource,
          ManagedFields.fieldSet(changedPart(existing, object)));
    }
    metadata.remove("resourceVersion");
    if (options.dryRun()) {
      metadata.put("resourceVersion", existingMetadata.getString("resourceVersion"));
      return view(type, object);
    }
    boolean finalized = metadata.getJsonArray("finalizers", new JsonArray()).isEmpty();
    if (metadata.getValue("deletionTimestamp") != null && finalized) {
      return view(type, removeNow(type, object, "Background"));
    }
    JsonObject updated = store.put(type.storageResource(), object);
    if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      catalog.registerCrd(updated);
    }
    return view(type, updated);
  }

  /**
   * Deletes an object: at once, or (while finalizers remain) by marking it with a
   * deletionTimestamp. Returns what the API answers with: the object, or a Status for kinds whose
   * real DELETE answers with one.
   */
  JsonObject delete(ResourceType type, String namespace, String name, JsonObject deleteOptions, boolean dryRun) {
    JsonObject existing = store.get(type.storageResource(), scoped(type, namespace), name);
    if (existing == null) {
      throw KubeApiException.notFound(type, name);
    }
    JsonObject preconditions = deleteOptions.getJsonObject("preconditions", new JsonObject());
    JsonObject existingMetadata = existing.getJsonObject("metadata");
    String uid = preconditions.getString("uid");
    if (uid != null && !uid.equals(existingMetadata.getString("uid"))) {
      throw KubeApiException.conflict(type, name, "Precondition failed: UID in precondition: " + uid
          + ", UID in object meta: " + existingMetadata.getString("uid"));
    }
    String version = preconditions.getString("resourceVersion");
    if (version != null && !version.equals(existingMetadata.getString("resourceVersion"))) {
      throw KubeApiException.conflict(type, name, "Precondition failed: ResourceVersion in precondition: " + version
          + ", ResourceVersion in object meta: " + existingMetadata.getString("resourceVersion"));
    }
    if (dryRun) {
      return answerForDelete(type, view(type, existing));
    }
    String propagation = deleteOptions.getString("propagationPolicy",
        Boolean.TRUE.equals(deleteOptions.getBoolean("orphanDependents")) ? "Orphan" : "Background");
    if (!existingMetadata.getJsonArray("finalizers", new JsonArray()).isEmpty()) {
      if (existingMetadata.getValue("deletionTimestamp") != null) {
        return view(type, existing);
      }
      JsonObject marked = existing.copy();
      Json.metadata(marked).put("deletionTimestamp", Json.now()).put("deletionGracePeriodSeconds", 0);
      return view(type, store.put(type.storageResource(), marked));
    }
    return answerForDelete(type, view(type, removeNow(type, existing, propagation)));
  }

  /** Deletes every object of a collection that the selectors match; answers with the deleted objects. */
  List<JsonObject> deleteCollection(ResourceType type, String namespace, LabelSelector labels, FieldSelector fields,
      JsonObject deleteOptions, boolean dryRun) {
    List<JsonObject> deleted = new ArrayList<>();
    for (JsonObject object : list(type, namespace, labels, fields, 0, null).items()) {
      try {
        delete(type, Json.namespace(object), Json.name(object), deleteOptions, dryRun);
        deleted.add(object);
      } catch (KubeApiException gone) {
        // Removed meanwhile by a cascade from an earlier deletion in this same sweep.
      }
    }
    return deleted;
  }

  private JsonObject answerForDelete(ResourceType type, JsonObject deleted) {
    if (ObjectRules.returnsDeletedObject(type)) {
      return deleted;
    }
    JsonObject details = KubeApiException.details(Json.name(deleted), type.group(), type.plural())
        .put("uid", Json.metadata(deleted).getString("uid"));
    return new JsonObject().put("kind", "Status").put("apiVersion", "v1").put("metadata", new JsonObject())
        .put("status", "Success").put("details", details);
  }

  /** Removes the object and what depends on it: a namespace's contents, a CRD's objects, owned objects. */
  private JsonObject removeNow(ResourceType type, JsonObject object, String propagation) {
    String namespace = Json.namespace(object);
    String name = Json.name(object);
    if (type.is("", "Namespace")) {
      for (String resource : store.resourcesInUse()) {
        for (JsonObject inside : List.copyOf(store.entries(resource, name).values())) {
          store.remove(resource, name, Json.name(inside));
        }
      }
    }
    if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      for (JsonObject custom : List.copyOf(store.entries(name, null).values())) {
        store.remove(name, Json.namespace(custom), Json.name(custom));
      }
      catalog.unregisterCrd(name);
    }
    JsonObject removed = store.remove(type.storageResource(), namespace, name);
    collectDependents(Json.metadata(object).getString("uid"), namespace, propagation);
    return removed;
  }

  /**
   * The garbage collector, run at once: objects owned by {@code ownerUid} are deleted, or with
   * propagationPolicy Orphan lose their owner reference.
   */
  private void collectDependents(String ownerUid, String namespace, String propagation) {
    for (String resource : store.resourcesInUse()) {
      for (JsonObject candidate : List.copyOf(store.entries(resource, namespace).values())) {
        JsonArray owners = Json.arrayAt(candidate, "metadata", "ownerReferences");
        JsonArray remaining = new JsonArray();
        owners.forEach(owner -> {
          if (!(owner instanceof JsonObject reference) || !ownerUid.equals(reference.getString("uid"))) {
            remaining.add(owner);
          }
        });
        if (remaining.size() == owners.size()) {
          continue;
        }
        if ("Orphan".equals(propagation)) {
          JsonObject orphan = candidate.copy();
          Json.metadata(orphan).put("ownerReferences", remaining);
          store.put(resource, orphan);
        } else if (store.get(resource, Json.namespace(candidate), Json.name(candidate)) != null) {
          store.remove(resource, Json.namespace(candidate), Json.name(candidate));
          collectDependents(Json.metadata(candidate).getString("uid"), Json.namespace(candidate), propagation);
        }
      }
    }
  }

  /** The object as seen through one served version: a copy in that version's shape (see {@link StorageVersions}). */
  private static JsonObject view(ResourceType type, JsonObject stored) {
    JsonObject shown = StorageVersions.fromStorage(type, stored);
    JsonObject copy = shown == stored ? stored.copy() : shown;
    copy.put("apiVersion", type.groupVersion());
    copy.put("kind", type.kind());
    return reorderTypeMeta(copy);
  }

  /** kubectl prints objects in field order; apiVersion and kind first reads like the real server. */
  private static JsonObject reorderTypeMeta(JsonObject object) {
    JsonObject ordered = new JsonObject().put("apiVersion", object.getValue("apiVersion"))
        .put("kind", object.getValue("kind"));
    object.forEach(e -> {
      if (!ordered.containsKey(e.getKey())) {
        ordered.put(e.getKey(), e.getValue());
      }
    });
    return ordered;
  }

  private static String scoped(ResourceType type, String namespace) {
    return type.namespaced() ? namespace : null;
  }

  private static void checkKind(ResourceType type, JsonObject object) {
    String apiVersion = object.getString("apiVersion");
    String kind = object.getString("kind");
    if (apiVersion != null && !apiVersion.isEmpty() && !apiVersion.equals(type.groupVersion())) {
      String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
      if (!group.equals(type.group())) {
        throw KubeApiException.badRequest("the API version in the data (" + apiVersion
            + ") does not match the expected API version (" + type.groupVersion() + ")");
      }
    }
    if (kind != null && !kind.isEmpty() && !kind.equals(type.kind())) {
      throw KubeApiException.badRequest("the kind in the data (" + kind + ") does not match the expected kind ("
          + type.kind() + ")");
    }
    object.put("apiVersion", type.groupVersion());
    object.put("kind", type.kind());
  }

  private static String checkNamespace(ResourceType type, String namespace, JsonObject metadata) {
    if (!type.namespaced()) {
      metadata.remove("namespace");
      return null;
    }
    String inBody = metadata.getString("namespace");
    if (inBody != null && !inBody.isEmpty() && namespace != null && !inBody.equals(namespace)) {
      throw KubeApiException.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    String effective = namespace != null ? namespace : inBody;
    if (effective == null || effective.isEmpty()) {
      throw KubeApiException.badRequest("an empty namespace may not be set during creation");
    }
    metadata.put("namespace", effective);
    return effective;
  }

  private void checkCrd(ResourceType type, JsonObject crd) {
    String problem = ResourceCatalog.crdProblem(crd);
    if (problem != null) {
      throw KubeApiException.invalid(type, Json.name(crd), "spec", problem);
    }
  }

  /** Generation counts changes users make to what they want: everything but metadata and status. */
  private static boolean specChanged(JsonObject before, JsonObject after) {
    return !JsonPatches.sameJson(withoutMetadataAndStatus(before), withoutMetadataAndStatus(after));
  }

  private static JsonObject withoutMetadataAndStatus(JsonObject object) {
    JsonObject copy = object.copy();
    copy.remove("metadata");
    copy.remove("status");
    copy.remove("apiVersion");
    copy.remove("kind");
    return copy;
  }

  /** A write that changes nothing is not stored: no new resourceVersion, no watch event (as the apiserver does). */
  private static boolean unchanged(JsonObject before, JsonObject after) {
    JsonObject a = before.copy();
    JsonObject b = after.copy();
    for (JsonObject object : List.of(a, b)) {
      object.remove("apiVersion");
      object.remove("kind");
      JsonObject metadata = Json.metadata(object);
      metadata.remove("resourceVersion");
      metadata.remove("managedFields");
    }
    return JsonPatches.sameJson(a, b);
  }

  private static boolean sameManagedFields(JsonObject before, JsonObject after) {
    return JsonPatches.sameJson(Json.metadata(before).getValue("managedFields"),
        Json.metadata(after).getValue("managedFields"));
  }

  /** The top-level fields a write changed, so an Update entry claims only those. */
  private static JsonObject changedPart(JsonObject before, JsonObject after) {
    JsonObject changed = new JsonObject();
    for (String key : after.fieldNames()) {
      if (!JsonPatches.sameJson(before.getValue(key), after.getValue(key))) {
        changed.put(key, after.getValue(key));
      }
    }
    return changed;
  }

  private String nextClusterIp() {
    int n = nextClusterIp++;
    return "10.96." + (n / 250) + "." + (n % 250 + 1);
  }

  private static String encodeContinue(String revision, String lastKey) {
    String json = new JsonObject().put("v", "meta.k8s.io/v1").put("rv", revision).put("start", lastKey).encode();
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonObject decodeContinue(String token) {
    try {
      return new JsonObject(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | DecodeException e) {
      throw KubeApiException.badRequest("continue key is not valid: " + e.getMessage());
    }
  }
}
