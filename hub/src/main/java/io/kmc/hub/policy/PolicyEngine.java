package io.kmc.hub.policy;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOptions;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelEvaluationListener;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
import io.kmc.common.KmcException;
import io.kmc.plugin.PolicyFunction;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles policies once (type-checked: an expression must be a bool, a message expression a
 * string) and evaluates them against one write, with the variables a ValidatingAdmissionPolicy
 * author knows: {@code object}, {@code oldObject} (null on create), {@code request} and, kmc's own,
 * {@code cluster} ({@code name}, {@code labels}).
 *
 * <p>Evaluation is bounded by a cost limit: every expression node evaluated costs one, a loop's body
 * costs again on every turn, and an evaluation that goes past {@code policy.cost_limit} is stopped
 * with an error naming the policy. That bounds the time a policy can take on an event loop whatever
 * the object (ten thousand nodes take well under a millisecond), and turns a runaway expression into
 * its policy's failure, never into a stuck hub. The policy's {@code failurePolicy} says what a
 * failure means: {@code Fail} (the default, as in Kubernetes) counts it as a violation.
 */
public final class PolicyEngine {

  /** The variables every expression may use; all dynamically typed, as in Kubernetes without a schema. */
  private static final List<String> VARIABLES = List.of("object", "oldObject", "request", "cluster");

  private final Cel conditions;
  private final Cel messages;
  private final long costLimit;
  private final int maxExpressionChars;

  public PolicyEngine(long costLimit, int maxExpressionChars) {
    this(costLimit, maxExpressionChars, List.of());
  }

  /** With extra global functions (from plugins) that expressions and message expressions may call. */
  public PolicyEngine(long costLimit, int maxExpressionChars, List<PolicyFunction> functions) {
    this.costLimit = costLimit;
    this.maxExpressionChars = maxExpressionChars;
    this.conditions = environment(SimpleType.BOOL, functions);
    this.messages = environment(SimpleType.STRING, functions);
    warmUp();
  }

  /**
   * Compiles and runs one expression, here on the worker that builds the engine: the first
   * evaluation loads the runtime's classes, which should not happen on an event loop in a write's path.
   */
  private void warmUp() {
    try {
      run(program(conditions, "object.all(k, k.size() > 0) && request.operation == 'CREATE'", "warm-up"),
          variables(new Request("CREATE", "", Map.of(), "", "", "", "", "", "", "", "", List.of(), false,
              new JsonObject().put("a", 1), null)));
    } catch (EvaluationFailure e) {
      throw new IllegalStateException("the CEL runtime does not work: " + e.getMessage());
    }
  }

  private static Cel environment(dev.cel.common.types.CelType resultType, List<PolicyFunction> functions) {
    var builder = CelFactory.standardCelBuilder()
        .setOptions(CelOptions.current().enableHeterogeneousNumericComparisons(true).build())
        .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
        .addCompilerLibraries(CelExtensions.strings(), CelExtensions.lists(), CelExtensions.sets(CelOptions.DEFAULT))
        .addRuntimeLibraries(CelExtensions.strings(), CelExtensions.lists(), CelExtensions.sets(CelOptions.DEFAULT))
        .setResultType(resultType);
    for (String variable : VARIABLES) {
      builder.addVar(variable, SimpleType.DYN);
    }
    Map<String, List<CelOverloadDecl>> overloads = new LinkedHashMap<>();
    for (PolicyFunction function : functions) {
      String id = function.name() + "_" + String.join("_", function.parameters().stream()
          .map(t -> t.name().toLowerCase(java.util.Locale.ROOT)).toList());
      overloads.computeIfAbsent(function.name(), n -> new ArrayList<>()).add(CelOverloadDecl.newGlobalOverload(id,
          celType(function.result()), function.parameters().stream().map(PolicyEngine::celType).toList()));
      builder.addFunctionBindings(CelFunctionBinding.from(id, function.parameters().stream()
          .<Class<?>>map(PolicyFunction.Type::javaType).toList(), args -> {
            try {
              return result(function, function.call(java.util.Arrays.asList(args)));
            } catch (RuntimeException e) {
              throw new IllegalArgumentException(function.name() + "(): " + e.getMessage(), e);
            }
          }));
    }
    overloads.forEach((name, decls) -> builder.addFunctionDeclarations(CelFunctionDecl.newFunctionDeclaration(name,
        decls)));
    return builder.build();
  }

  /** What the CEL runtime takes: whole numbers as long, other numbers as double. */
  private static Object result(PolicyFunction function, Object value) {
    if (value == null) {
      throw new IllegalArgumentException("returned null");
    }
    return switch (function.result()) {
      case INT -> value instanceof Number n ? (Object) n.longValue() : value;
      case DOUBLE -> value instanceof Number n ? (Object) n.doubleValue() : value;
      default -> value;
    };
  }

  private static dev.cel.common.types.CelType celType(PolicyFunction.Type type) {
    return switch (type) {
      case STRING -> SimpleType.STRING;
      case INT -> SimpleType.INT;
      case DOUBLE -> SimpleType.DOUBLE;
      case BOOL -> SimpleType.BOOL;
      case LIST -> ListType.create(SimpleType.DYN);
      case MAP -> MapType.create(SimpleType.STRING, SimpleType.DYN);
      case DYN -> SimpleType.DYN;
    };
  }

  public int maxExpressionChars() {
    return maxExpressionChars;
  }

  public long costLimit() {
    return costLimit;
  }

  /** A policy ready to evaluate: its programs, built once. */
  public record Compiled(Policy policy, List<CompiledValidation> validations) {
  }

  record CompiledValidation(Policy.Validation source, CelRuntime.Program condition, CelRuntime.Program message) {
  }

  /** Reads and compiles a manifest; 400 naming the field and the CEL error for anything wrong. */
  public Compiled compile(JsonObject manifest) {
    return compile(Policy.fromManifest(manifest, maxExpressionChars));
  }

  public Compiled compile(Policy policy) {
    List<CompiledValidation> compiled = new ArrayList<>();
    for (int i = 0; i < policy.validations().size(); i++) {
      Policy.Validation v = policy.validations().get(i);
      String at = "spec.validations[" + i + "].";
      CelRuntime.Program condition = program(conditions, v.expression(), at + "expression");
      CelRuntime.Program message = v.messageExpression() == null ? null
          : program(messages, v.messageExpression(), at + "messageExpression");
      compiled.add(new CompiledValidation(v, condition, message));
    }
    return new Compiled(policy, List.copyOf(compiled));
  }

  private static CelRuntime.Program program(Cel cel, String expression, String field) {
    try {
      CelAbstractSyntaxTree ast = cel.compile(expression).getAst();
      return cel.createProgram(ast);
    } catch (CelValidationException e) {
      throw KmcException.badRequest(field + " is not valid CEL: " + e.getMessage());
    } catch (dev.cel.common.CelException e) {
      throw KmcException.badRequest(field + " cannot be evaluated: " + e.getMessage());
    }
  }

  /** One write, as the policies see it. Objects are JSON as Kubernetes sends it. */
  public record Request(String operation, String cluster, Map<String, String> clusterLabels, String kind,
                        String group, String version, String resource, String subResource, String namespace,
                        String name, String user, List<String> groups, boolean dryRun, JsonObject object,
                        JsonObject oldObject) {
  }

  /** One policy violated (or failed to evaluate, under {@code failurePolicy: Fail}). */
  public record Violation(String policy, Policy.Action action, String message) {
  }

  /** What the policies said about one write. */
  public record Verdict(List<Violation> violations, int evaluated) {
    public List<Violation> of(Policy.Action action) {
      return violations.stream().filter(v -> v.action() == action).toList();
    }

    public boolean denied() {
      return violations.stream().anyMatch(v -> v.action() == Policy.Action.DENY);
    }
  }

  /** Evaluates every policy that matches the request; quick enough for an event loop (see the class comment). */
  public Verdict evaluate(List<Compiled> policies, Request request) {
    Map<String, Object> variables = null;
    List<Violation> violations = new ArrayList<>();
    int evaluated = 0;
    for (Compiled compiled : policies) {
      if (!Matching.matches(compiled.policy().match(), request)) {
        continue;
      }
      if (variables == null) {
        variables = variables(request);
      }
      evaluated++;
      Violation violation = evaluate(compiled, variables);
      if (violation != null) {
        violations.add(violation);
      }
    }
    return new Verdict(List.copyOf(violations), evaluated);
  }

  /** The first validation of the policy that does not hold, or null. */
  private Violation evaluate(Compiled compiled, Map<String, Object> variables) {
    Policy policy = compiled.policy();
    for (CompiledValidation v : compiled.validations()) {
      Object result;
      try {
        result = run(v.condition(), variables);
      } catch (EvaluationFailure e) {
        if (policy.failurePolicy() == Policy.FailurePolicy.IGNORE) {
          continue;
        }
        return new Violation(policy.name(), policy.action(), "expression '" + abbreviated(v.source().expression())
            + "' failed: " + e.getMessage());
      }
      if (!Boolean.TRUE.equals(result)) {
        return new Violation(policy.name(), policy.action(), message(policy, v, variables));
      }
    }
    return null;
  }

  private String message(Policy policy, CompiledValidation v, Map<String, Object> variables) {
    if (v.message() != null) {
      try {
        Object text = run(v.message(), variables);
        if (text instanceof String s && !s.isBlank()) {
          return s.length() > 1024 ? s.substring(0, 1024) + "…" : s;
        }
      } catch (EvaluationFailure e) {
        // As Kubernetes does: a message expression that fails falls back to the static message.
      }
    }
    if (v.source().message() != null) {
      return v.source().message();
    }
    return "failed expression: " + abbreviated(v.source().expression());
  }

  private static String abbreviated(String expression) {
    String flat = expression.replaceAll("\\s+", " ").trim();
    return flat.length() > 200 ? flat.substring(0, 200) + "…" : flat;
  }

  /** Thrown from the evaluation listener to stop a program that went past the cost limit. */
  private static final class CostLimitExceeded extends RuntimeException {
    CostLimitExceeded(long limit) {
      super("the cost limit of " + limit + " (policy.cost_limit) was exceeded", null, false, false);
    }
  }

  /** An expression that could not be evaluated: a CEL error, or the cost limit. */
  static final class EvaluationFailure extends Exception {
    EvaluationFailure(String message) {
      super(message, null, false, false);
    }
  }

  private Object run(CelRuntime.Program program, Map<String, Object> variables) throws EvaluationFailure {
    long[] cost = new long[1];
    CelEvaluationListener meter = (expr, value) -> {
      if (++cost[0] > costLimit) {
        throw new CostLimitExceeded(costLimit);
      }
    };
    try {
      return program.trace(variables, meter);
    } catch (CelEvaluationException e) {
      for (Throwable cause = e; cause != null; cause = cause.getCause()) {
        if (cause instanceof CostLimitExceeded exceeded) {
          throw new EvaluationFailure(exceeded.getMessage());
        }
      }
      throw new EvaluationFailure(e.getMessage());
    } catch (RuntimeException e) {
      throw new EvaluationFailure(e instanceof CostLimitExceeded ? e.getMessage() : e.toString());
    }
  }

  private static Map<String, Object> variables(Request r) {
    Map<String, Object> variables = new HashMap<>();
    variables.put("object", r.object() == null ? NullValue.NULL_VALUE : value(r.object()));
    variables.put("oldObject", r.oldObject() == null ? NullValue.NULL_VALUE : value(r.oldObject()));
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("operation", r.operation());
    request.put("kind", Map.of("group", nz(r.group()), "version", nz(r.version()), "kind", nz(r.kind())));
    request.put("resource", Map.of("group", nz(r.group()), "version", nz(r.version()), "resource", nz(r.resource())));
    request.put("subResource", nz(r.subResource()));
    request.put("namespace", nz(r.namespace()));
    request.put("name", nz(r.name()));
    request.put("userInfo", Map.of("username", nz(r.user()), "groups", r.groups() == null ? List.of() : r.groups()));
    request.put("dryRun", r.dryRun());
    variables.put("request", request);
    variables.put("cluster", Map.of("name", nz(r.cluster()),
        "labels", r.clusterLabels() == null ? Map.of() : Map.copyOf(r.clusterLabels())));
    return variables;
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  /** JSON as CEL's runtime takes it: maps, lists, long integers, doubles, strings, booleans and null. */
  static Object value(Object json) {
    if (json == null) {
      return NullValue.NULL_VALUE;
    }
    if (json instanceof JsonObject object) {
      Map<String, Object> map = new LinkedHashMap<>();
      object.forEach(e -> map.put(e.getKey(), value(e.getValue())));
      return map;
    }
    if (json instanceof Map<?, ?> raw) {
      return value(new JsonObject(castMap(raw)));
    }
    if (json instanceof JsonArray array) {
      List<Object> list = new ArrayList<>(array.size());
      array.forEach(item -> list.add(value(item)));
      return list;
    }
    if (json instanceof List<?> raw) {
      return value(new JsonArray(new ArrayList<>(raw)));
    }
    if (json instanceof Integer || json instanceof Long || json instanceof Short || json instanceof Byte) {
      return ((Number) json).longValue();
    }
    if (json instanceof BigInteger big) {
      return big.bitLength() < 64 ? big.longValue() : big.doubleValue();
    }
    if (json instanceof BigDecimal || json instanceof Float || json instanceof Double) {
      return ((Number) json).doubleValue();
    }
    return json;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> raw) {
    return (Map<String, Object>) raw;
  }
}
