package io.kmc.agent;

import io.kmc.agent.kube.KubeRequestExecutor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** The agent's metrics ({@code kmc_agent_...}), with bounded labels. */
public final class AgentMetrics implements KubeRequestExecutor.Observer {

  public static final String CONNECTED = "kmc_agent_connected";
  public static final String DIALS = "kmc_agent_dials";
  public static final String REQUESTS = "kmc_agent_requests";
  public static final String STREAMS = "kmc_agent_streams";

  private final MeterRegistry registry;
  /** Request timers by status class, registered once rather than looked up for every request. */
  private final Map<String, Timer> requestTimers = new ConcurrentHashMap<>();

  public AgentMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void connected(Supplier<Boolean> connected) {
    Gauge.builder(CONNECTED, () -> connected.get() ? 1 : 0)
        .description("1 while the agent is connected to the hub").register(registry);
  }

  public void streams(Supplier<Number> open) {
    Gauge.builder(STREAMS, open).description("Streams (watches, followed logs) the agent is serving")
        .register(registry);
  }

  /** A dial ended: {@code ok}, {@code refused} (the hub said no) or {@code error} (unreachable). */
  public void dialed(String result) {
    Counter.builder(DIALS).tag("result", result).description("Connection attempts to the hub").register(registry)
        .increment();
  }

  @Override
  public void answered(int status, long nanos) {
    requestTimers.computeIfAbsent((status / 100) + "xx", statusClass -> Timer.builder(REQUESTS)
            .tag("status_class", statusClass)
            .description("Requests executed against the kube-apiserver, until the answer starts")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }
}
