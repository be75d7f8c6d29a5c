package io.kmc.hub.index;

import io.kmc.common.protocol.Frame;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Checks an agent's index batch as the hub checks any client input: names shaped as Kubernetes
 * names, every size bounded, summary values plain. An agent is not trusted: a batch that fails is
 * refused whole and nothing of it is written.
 */
public final class IndexValidator {

  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern VERSION = Pattern.compile("v[0-9]+((alpha|beta)[0-9]+)?");
  private static final Pattern KIND = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,62}");
  private static final Pattern WATERMARK = Pattern.compile("[A-Za-z0-9:._-]{1,128}");
  private static final Pattern SUMMARY_KEY = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,62}");
  private static final int MAX_NAME = 253;
  private static final int MAX_LABELS = 64;
  private static final int MAX_LABEL_KEY = 317;
  private static final int MAX_LABEL_VALUE = 63;
  private static final int MAX_SUMMARY = 16;
  private static final int MAX_TEXT = 256;

  private final int maxObjects;

  public IndexValidator(int maxObjects) {
    this.maxObjects = maxObjects;
  }

  /** Why the batch is refused, or null when it may be applied. */
  public String problem(Frame.Index batch) {
    if (!batch.group().isEmpty() && !DNS_SUBDOMAIN.matcher(batch.group()).matches()) {
      return "index.group is not a DNS subdomain";
    }
    if (!VERSION.matcher(batch.version()).matches()) {
      return "index.version is not a Kubernetes API version";
    }
    if (!DNS_LABEL.matcher(batch.resource()).matches()) {
      return "index.resource is not a resource name";
    }
    if (!KIND.matcher(batch.kind()).matches()) {
      return "index.kind is not a kind name";
    }
    if (batch.watermark() != null && !WATERMARK.matcher(batch.watermark()).matches()) {
      return "index.watermark is not a watermark";
    }
    if (batch.upserts().size() + batch.deletes().size() > maxObjects) {
      return "index batch holds " + (batch.upserts().size() + batch.deletes().size()) + " objects, more than "
          + maxObjects + " (index.max_batch_objects)";
    }
    for (int i = 0; i < batch.upserts().size(); i++) {
      Frame.IndexedObject o = batch.upserts().get(i);
      String at = "index.upserts[" + i + "]";
      if (o == null) {
        return at + " is null";
      }
      String problem = key(batch, o.namespace(), o.name());
      if (problem == null) {
        problem = object(o);
      }
      if (problem != null) {
        return at + problem;
      }
    }
    for (int i = 0; i < batch.deletes().size(); i++) {
      Frame.IndexedKey k = batch.deletes().get(i);
      String problem = k == null ? " is null" : key(batch, k.namespace(), k.name());
      if (problem != null) {
        return "index.deletes[" + i + "]" + problem;
      }
    }
    return null;
  }

  private static String key(Frame.Index batch, String namespace, String name) {
    if (name == null || name.isEmpty() || name.length() > MAX_NAME || hasControl(name) || name.contains("/")) {
      return ".name is not an object name";
    }
    boolean hasNamespace = namespace != null && !namespace.isEmpty();
    if (batch.namespaced() != hasNamespace) {
      return batch.namespaced() ? ".namespace is required for a namespaced kind"
          : ".namespace must be empty for a cluster-scoped kind";
    }
    if (hasNamespace && !DNS_LABEL.matcher(namespace).matches()) {
      return ".namespace is not a namespace name";
    }
    return null;
  }

  private static String object(Frame.IndexedObject o) {
    if (o.uid() == null || o.uid().isEmpty() || o.uid().length() > 128 || hasControl(o.uid())) {
      return ".uid is required (at most 128 characters)";
    }
    if (o.resourceVersion() == null || o.resourceVersion().isEmpty() || o.resourceVersion().length() > 128
        || hasControl(o.resourceVersion())) {
      return ".resourceVersion is required (at most 128 characters)";
    }
    if (o.owner() != null && (o.owner().length() > MAX_TEXT + 64 || hasControl(o.owner()))) {
      return ".owner is too long";
    }
    if (o.created() != null) {
      try {
        java.time.OffsetDateTime.parse(o.created());
      } catch (java.time.format.DateTimeParseException e) {
        return ".created is not an RFC 3339 time";
      }
    }
    if (o.object() != null) {
      Object metadata = o.object().get("metadata");
      if (!(metadata instanceof Map<?, ?> meta) || !o.name().equals(meta.get("name"))) {
        return ".object must be the object named in the batch";
      }
    }
    Map<String, String> labels = o.labels() == null ? Map.of() : o.labels();
    if (labels.size() > MAX_LABELS) {
      return ".labels has more than " + MAX_LABELS + " labels";
    }
    for (Map.Entry<String, String> label : labels.entrySet()) {
      if (label.getKey() == null || label.getKey().isEmpty() || label.getKey().length() > MAX_LABEL_KEY
          || hasControl(label.getKey())) {
        return ".labels has an invalid key";
      }
      if (label.getValue() == null || label.getValue().length() > MAX_LABEL_VALUE || hasControl(label.getValue())) {
        return ".labels." + label.getKey() + " is not a label value";
      }
    }
    Map<String, Object> summary = o.summary() == null ? Map.of() : o.summary();
    if (summary.size() > MAX_SUMMARY) {
      return ".summary has more than " + MAX_SUMMARY + " fields";
    }
    for (Map.Entry<String, Object> field : summary.entrySet()) {
      if (field.getKey() == null || !SUMMARY_KEY.matcher(field.getKey()).matches()) {
        return ".summary has an invalid field name";
      }
      Object value = field.getValue();
      boolean plain = value instanceof Boolean || value instanceof Number
          || (value instanceof String text && text.length() <= MAX_TEXT && !hasControl(text));
      if (!plain) {
        return ".summary." + field.getKey() + " must be a string, number or boolean";
      }
    }
    return null;
  }

  private static boolean hasControl(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (Character.isISOControl(text.charAt(i))) {
        return true;
      }
    }
    return false;
  }
}
