package io.kmc.hub.rbac;

import com.googlecode.aviator.runtime.function.FunctionUtils;
import com.googlecode.aviator.runtime.type.AviatorBoolean;
import com.googlecode.aviator.runtime.type.AviatorObject;
import io.kmc.common.ClusterNames;
import io.kmc.hub.config.Resources;
import org.casbin.jcasbin.main.Enforcer;
import org.casbin.jcasbin.model.Assertion;
import org.casbin.jcasbin.model.Model;
import org.casbin.jcasbin.util.function.CustomFunction;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The hub's RBAC policy: an immutable snapshot that answers, in memory, whether a subject may do an
 * action on an object in a domain, with jcasbin and the model of {@code config/rbac-model.conf}
 * (whose comments, with those of {@code config/rbac-policies.csv}, define domains, objects, actions
 * and domain patterns).
 *
 * <p>A snapshot never changes after {@link #of} returns. To change the policy, build a new one from
 * the complete rule list and swap a volatile reference to it: jcasbin's {@code Enforcer} is not safe to
 * modify while it is being asked.
 *
 * <p>Asking is not safe either without a lock, and one lock per snapshot is not enough: jcasbin 1.99
 * memoizes {@code g()} answers in a static map keyed by the function name ("g") alone, shared by every
 * enforcer in the JVM and reset at the start of each {@code enforce}. Two snapshots answering at once
 * (the old and the new one during a swap) read each other's answers, so a revoked binding could
 * still be honoured. Every {@code enforce} of every snapshot therefore runs under one lock
 * ({@code SyncedEnforcer} would not help: it takes a per-instance read lock for {@code enforce}).
 * A first check takes microseconds (tens with thousands of bindings); each snapshot remembers its
 * answers, so that a repeated one takes no lock.
 *
 * <p>Users and groups are told apart from roles inside the enforcer ({@code user:alice},
 * {@code group:sre}), so that a user named like a role does not hold it.
 */
public final class Rbac {

  /** A policy line: {@code p, role, object, action} or {@code g, subject, role, domain pattern}. */
  public record Rule(String ptype, List<String> values) {
    public Rule {
      Objects.requireNonNull(ptype, "ptype");
      values = List.copyOf(values);
    }

    /** The rule as a CSV line: {@code p, admin, *, *}. */
    public String csv() {
      return ptype + ", " + String.join(", ", values);
    }
  }

  /** Who asks: a user name and the user's groups (bound in rules as {@code group:<name>}). */
  public record Subject(String user, List<String> groups) {
    public Subject {
      Objects.requireNonNull(user, "user");
      groups = groups == null ? List.of() : List.copyOf(groups);
    }
  }

  /** The domain of the hub's own administration: users, RBAC, audit, tokens, cluster registration. */
  public static final String KMC_DOMAIN = "kmc";
  public static final String GROUP_PREFIX = "group:";
  public static final String READ = "read";
  public static final String WRITE = "write";
  public static final String ANY = "*";

  private static final String USER_PREFIX = "user:";
  private static final Set<String> READ_VERBS = Set.of("get", "list", "watch");
  private static final Set<String> WRITE_VERBS = Set.of("create", "update", "patch", "delete", "deletecollection");
  /** The built-in model and policy, as resources of the hub (see {@link Resources}). */
  public static final String MODEL_RESOURCE = "auth/rbac-model.conf";
  public static final String POLICIES_RESOURCE = "auth/rbac-policies.csv";

  private static final Pattern ROLE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
  private static final Pattern OBJECT = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[a-z]+)?");
  private static final Pattern ACTION = Pattern.compile("[a-z]+");
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** See the class comment: jcasbin shares state between enforcers, so all of them take turns. */
  private static final Object ENFORCE_LOCK = new Object();
  /** Past this many remembered answers, a snapshot forgets them all and starts again. */
  private static final int MAX_CACHED_ANSWERS = 10_000;

  private final Enforcer enforcer;
  /** Answers already given; a snapshot never changes, so they stay true. Asked without the lock. */
  private final Map<Question, Boolean> answers = new ConcurrentHashMap<>();
  private final int maxCachedAnswers;
  private final List<Rule> rules;
  /** Domain patterns by the enforcer's subject name ({@code user:alice}, {@code group:sre}). */
  private final Map<String, List<String>> patternsBySubject;

  private Rbac(Enforcer enforcer, List<Rule> rules, Map<String, List<String>> patternsBySubject,
               int maxCachedAnswers) {
    this.enforcer = enforcer;
    this.rules = rules;
    this.patternsBySubject = patternsBySubject;
    this.maxCachedAnswers = maxCachedAnswers;
  }

  /**
   * Builds a snapshot. Duplicate rules count once. jcasbin links every binding to every other domain
   * pattern it covers, so this takes about 0.3 s for 2,000 bindings over 100 namespaces and 2 s for
   * 10,000 over 1,000: call it off the event loop.
   *
   * @throws IllegalArgumentException naming the rule or model part that is wrong
   */
  public static Rbac of(String modelText, List<Rule> rules) {
    return of(modelText, rules, MAX_CACHED_ANSWERS);
  }

  /** With {@code maxCachedAnswers} 0, every question goes to the enforcer (for tests of the enforcer's use). */
  static Rbac of(String modelText, List<Rule> rules, int maxCachedAnswers) {
    Set<Rule> unique = new LinkedHashSet<>(rules);
    for (Rule rule : unique) {
      try {
        check(rule);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("RBAC rule '" + rule.csv() + "': " + e.getMessage(), e);
      }
    }
    Enforcer enforcer = new Enforcer(model(modelText), null, false);
    enforcer.addFunction(ActionMatch.NAME, new ActionMatch());
    enforcer.addNamedDomainMatchingFunc("g", "domainMatch", Rbac::domainMatches);
    Map<String, List<String>> patternsBySubject = new HashMap<>();
    for (Rule rule : unique) {
      List<String> v = rule.values();
      if (rule.ptype().equals("p")) {
        enforcer.addNamedPolicy("p", v);
      } else {
        String subject = enforcerSubject(v.get(0));
        enforcer.addNamedGroupingPolicy("g", subject, v.get(1), v.get(2));
        patternsBySubject.computeIfAbsent(subject, s -> new ArrayList<>()).add(v.get(2));
      }
    }
    patternsBySubject.replaceAll((subject, patterns) -> List.copyOf(patterns));
    Rbac rbac = new Rbac(enforcer, List.copyOf(unique), Map.copyOf(patternsBySubject), maxCachedAnswers);
    // The whole matcher runs once now, so that a model naming an unknown function fails here rather
    // than on the first request: a role asking for its own first permission gets past every "&&".
    List<String> probe = unique.stream().filter(rule -> rule.ptype().equals("p")).findFirst()
        .map(Rule::values).orElse(List.of(USER_PREFIX, KubeRequestAttributes.DISCOVERY, "get"));
    try {
      rbac.enforce(probe.get(0), KMC_DOMAIN, probe.get(1), "get");
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("RBAC model: the matcher cannot be evaluated: " + e.getMessage(), e);
    }
    return rbac;
  }

  /** The model the hub uses when no file is configured (the copy of {@code config/rbac-model.conf}). */
  public static String builtInModel() {
    return Resources.read(null, MODEL_RESOURCE);
  }

  /** The policy the hub seeds its store with when no file is configured. */
  public static String builtInPolicies() {
    return Resources.read(null, POLICIES_RESOURCE);
  }

  /**
   * Reads policy CSV: one rule a line, fields separated by commas and trimmed (no quoting); blank
   * lines and lines starting with {@code #} are skipped.
   *
   * @throws IllegalArgumentException naming the first wrong line
   */
  public static List<Rule> parseCsv(String text) {
    List<Rule> rules = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] fields = line.split(",", -1);
      List<String> values = new ArrayList<>();
      for (int f = 1; f < fields.length; f++) {
        values.add(fields[f].strip());
      }
      Rule rule = new Rule(fields[0].strip(), values);
      try {
        check(rule);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage() + " (" + line + ")", e);
      }
      rules.add(rule);
    }
    return rules;
  }

  /** The rules as policy CSV that {@link #parseCsv} reads back. */
  public static String formatCsv(List<Rule> rules) {
    StringBuilder csv = new StringBuilder();
    for (Rule rule : rules) {
      csv.append(rule.csv()).append('\n');
    }
    return csv.toString();
  }

  /** The rules of this snapshot, in the order given, without duplicates. */
  public List<Rule> rules() {
    return rules;
  }

  /**
   * Whether the user, or one of the groups, holds a role granting {@code action} on {@code object} in
   * {@code domain}. A domain that is not {@code kmc}, {@code <cluster>/} or
   * {@code <cluster>/<namespace>} with valid names is never allowed.
   *
   * <p>{@code discovery} of a cluster is allowed to a role bound anywhere in that cluster, even in one
   * namespace only: kubectl reads discovery before anything else.
   */
  public boolean allowed(Subject subject, String domain, String object, String action) {
    if (domain == null || object == null || action == null || !validDomain(domain)) {
      return false;
    }
    List<String> names = boundNames(subject);
    if (names.isEmpty()) {
      return false;
    }
    for (String name : names) {
      if (allowedFor(name, domain, object, action)) {
        return true;
      }
    }
    return false;
  }

  private boolean allowedFor(String name, String domain, String object, String action) {
    Question question = new Question(name, domain, object, action);
    Boolean cached = answers.get(question);
    if (cached != null) {
      return cached;
    }
    boolean answer;
    synchronized (ENFORCE_LOCK) {
      answer = enforcer.enforce(name, domain, object, action);
      if (!answer && object.equals(KubeRequestAttributes.DISCOVERY) && !domain.equals(KMC_DOMAIN)) {
        String cluster = domain.substring(0, domain.indexOf('/'));
        for (String pattern : patternsBySubject.get(name)) {
          String reached = domainReached(pattern, cluster);
          if (reached != null && enforcer.enforce(name, reached, object, action)) {
            answer = true;
            break;
          }
        }
      }
    }
    if (answers.size() >= maxCachedAnswers) {
      // Crude but enough: the questions a hub sees repeat, and names in them are the callers' to choose.
      answers.clear();
    }
    if (maxCachedAnswers > 0) {
      answers.put(question, answer);
    }
    return answer;
  }

  /**
   * Whether the user or one of the groups is bound to any role in any domain of the cluster
   * ({@code *}, {@code prod/*}, {@code prod/}, {@code prod/shop}, <code>*&#47;shop</code>...): the cluster is
   * then listed for them and they may fetch a kubeconfig for it.
   */
  public boolean canSeeCluster(Subject subject, String cluster) {
    if (cluster == null || !ClusterNames.valid(cluster)) {
      return false;
    }
    for (String name : boundNames(subject)) {
      for (String pattern : patternsBySubject.get(name)) {
        if (domainReached(pattern, cluster) != null) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether a request domain falls under a binding's domain pattern. */
  static boolean domainMatches(String domain, String pattern) {
    if (pattern.equals(ANY)) {
      return true;
    }
    int patternSlash = pattern.indexOf('/');
    int domainSlash = domain.indexOf('/');
    if (patternSlash < 0 || domainSlash < 0) {
      return pattern.equals(domain);
    }
    return segmentMatches(domain.substring(0, domainSlash), pattern.substring(0, patternSlash))
        && segmentMatches(domain.substring(domainSlash + 1), pattern.substring(patternSlash + 1));
  }

  private static boolean segmentMatches(String name, String pattern) {
    return pattern.equals(ANY) || pattern.equals(name);
  }

  /**
   * A domain of the cluster that the pattern covers, standing for all of them: {@code prod/} when the
   * pattern covers the whole cluster or its cluster-scoped part, {@code prod/shop} for one namespace;
   * null when the pattern covers nothing in the cluster.
   */
  private static String domainReached(String pattern, String cluster) {
    if (pattern.equals(ANY)) {
      return cluster + "/";
    }
    int slash = pattern.indexOf('/');
    if (slash < 0 || !segmentMatches(cluster, pattern.substring(0, slash))) {
      return null;
    }
    String namespace = pattern.substring(slash + 1);
    return cluster + "/" + (namespace.equals(ANY) ? "" : namespace);
  }

  private boolean enforce(String subject, String domain, String object, String action) {
    synchronized (ENFORCE_LOCK) {
      return enforcer.enforce(subject, domain, object, action);
    }
  }

  private List<String> boundNames(Subject subject) {
    List<String> names = new ArrayList<>(1 + subject.groups().size());
    String user = USER_PREFIX + subject.user();
    if (patternsBySubject.containsKey(user)) {
      names.add(user);
    }
    for (String group : subject.groups()) {
      String name = GROUP_PREFIX + group;
      if (patternsBySubject.containsKey(name) && !names.contains(name)) {
        names.add(name);
      }
    }
    return names;
  }

  private static String enforcerSubject(String ruleSubject) {
    return ruleSubject.startsWith(GROUP_PREFIX) ? ruleSubject : USER_PREFIX + ruleSubject;
  }

  private static boolean validDomain(String domain) {
    if (domain.equals(KMC_DOMAIN)) {
      return true;
    }
    int slash = domain.indexOf('/');
    if (slash < 0) {
      return false;
    }
    String namespace = domain.substring(slash + 1);
    return ClusterNames.valid(domain.substring(0, slash))
        && (namespace.isEmpty() || NAMESPACE.matcher(namespace).matches());
  }

  private static void check(Rule rule) {
    List<String> v = rule.values();
    switch (rule.ptype()) {
      case "p" -> {
        if (v.size() != 3) {
          throw new IllegalArgumentException("a p rule has 3 values (role, object, action), not " + v.size());
        }
        checkRole(v.get(0));
        checkObject(v.get(1));
        checkAction(v.get(2));
      }
      case "g" -> {
        if (v.size() != 3) {
          throw new IllegalArgumentException("a g rule has 3 values (user or group:<name>, role, domain pattern), not "
              + v.size());
        }
        checkSubject(v.get(0));
        checkRole(v.get(1));
        checkPattern(v.get(2));
      }
      default -> throw new IllegalArgumentException("unknown rule type '" + rule.ptype()
          + "': p gives a role a permission, g gives a user or group a role");
    }
  }

  private static void checkRole(String role) {
    if (!ROLE.matcher(role).matches()) {
      throw new IllegalArgumentException("'" + role + "' is not a role name (letters, digits, '_', '.', '-')");
    }
  }

  private static void checkObject(String object) {
    if (object.equals(ANY)) {
      return;
    }
    if (!OBJECT.matcher(object).matches()) {
      throw new IllegalArgumentException("'" + object + "' is not an object: a lower-case resource plural, "
          + "discovery, clusters, users, rbac, audit, tokens, policies, notifications or *");
    }
    int slash = object.indexOf('/');
    if (slash > 0 && !KubeRequestAttributes.SEPARATE_SUBRESOURCES.contains(object.substring(slash + 1))) {
      throw new IllegalArgumentException("'" + object + "' is checked as '" + object.substring(0, slash)
          + "': only the subresources " + KubeRequestAttributes.SEPARATE_SUBRESOURCES + " are objects of their own");
    }
  }

  private static void checkAction(String action) {
    if (!action.equals(ANY) && !ACTION.matcher(action).matches()) {
      throw new IllegalArgumentException("'" + action + "' is not an action: a Kubernetes verb, read, write or *");
    }
  }

  private static void checkSubject(String subject) {
    String name = subject.startsWith(GROUP_PREFIX) ? subject.substring(GROUP_PREFIX.length()) : subject;
    if (name.isEmpty() || !name.strip().equals(name) || name.indexOf(',') >= 0
        || name.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("'" + subject + "' is not a user name or group:<name>");
    }
    if (subject.startsWith(USER_PREFIX)) {
      throw new IllegalArgumentException("write the user name without '" + USER_PREFIX + "'");
    }
  }

  private static void checkPattern(String pattern) {
    if (pattern.equals(ANY) || pattern.equals(KMC_DOMAIN)) {
      return;
    }
    int slash = pattern.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("domain '" + pattern + "' is not *, kmc or <cluster>/<namespace>"
          + (pattern.contains(ANY) ? ": a * stands for a whole cluster or namespace name, not part of one"
          : " (" + pattern + "/* is the whole cluster)"));
    }
    String cluster = pattern.substring(0, slash);
    String namespace = pattern.substring(slash + 1);
    if (!cluster.equals(ANY) && !ClusterNames.valid(cluster) || !namespace.equals(ANY) && !namespace.isEmpty()
        && !NAMESPACE.matcher(namespace).matches()) {
      throw new IllegalArgumentException("domain '" + pattern + "' is not <cluster>/<namespace> with valid names"
          + (pattern.contains(ANY) ? ": a * stands for a whole cluster or namespace name, not part of one" : ""));
    }
  }

  private static Model model(String text) {
    Model model = new Model();
    try {
      model.loadModelFromText(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("RBAC model: " + e.getMessage(), e);
    }
    for (String section : List.of("e", "m")) {
      if (!model.model.containsKey(section) || !model.model.get(section).containsKey(section)) {
        throw new IllegalArgumentException("RBAC model: the " + (section.equals("e") ? "policy_effect" : "matchers")
            + " section has no " + section + " = ...");
      }
    }
    requireTokens(model, "r", 4, "r = sub, dom, obj, act");
    requireTokens(model, "p", 3, "p = sub, obj, act");
    Assertion roles = model.model.containsKey("g") ? model.model.get("g").get("g") : null;
    if (roles == null || roles.value.split(",").length != 3) {
      throw new IllegalArgumentException("RBAC model: the role definition must be g = _, _, _");
    }
    return model;
  }

  private static void requireTokens(Model model, String section, int count, String expected) {
    Assertion assertion = model.model.containsKey(section) ? model.model.get(section).get(section) : null;
    if (assertion == null || assertion.tokens == null || assertion.tokens.length != count) {
      throw new IllegalArgumentException("RBAC model: kmc asks with " + expected);
    }
  }

  /** Whether a policy's action ({@code read}, {@code write}, {@code *} or one verb) covers a verb. */
  static boolean actionMatches(String requested, String granted) {
    return switch (granted) {
      case ANY -> true;
      case READ -> READ_VERBS.contains(requested);
      case WRITE -> WRITE_VERBS.contains(requested);
      default -> granted.equals(requested);
    };
  }

  private record Question(String subject, String domain, String object, String action) {
  }

  /** {@code actionMatch(r.act, p.act)} in the model's matcher. */
  private static final class ActionMatch extends CustomFunction {
    static final String NAME = "actionMatch";

    @Override
    public AviatorObject call(Map<String, Object> env, AviatorObject requested, AviatorObject granted) {
      return AviatorBoolean.valueOf(actionMatches(FunctionUtils.getStringValue(requested, env),
          FunctionUtils.getStringValue(granted, env)));
    }

    @Override
    public String getName() {
      return NAME;
    }
  }
}
