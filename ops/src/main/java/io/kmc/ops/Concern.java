package io.kmc.ops;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

import java.util.function.Supplier;

/**
 * One concern of a program (its registry, its audit log, its routing...) run as a verticle of its
 * own: what the concern registers when it starts (event-bus consumers, timers) belongs to this
 * verticle's context and goes away when it is undeployed, and its stop runs there too. A program
 * deploys its concerns in a fixed order and undeploys them in reverse.
 */
public final class Concern extends VerticleBase {

  private final String name;
  private final Supplier<Future<?>> start;
  private final Supplier<Future<?>> stop;

  private Concern(String name, Supplier<Future<?>> start, Supplier<Future<?>> stop) {
    this.name = name;
    this.start = start;
    this.stop = stop;
  }

  /** A concern whose {@code start} and {@code stop} run on the verticle's own context. */
  public static Concern of(String name, Supplier<Future<?>> start, Supplier<Future<?>> stop) {
    return new Concern(name, start, stop);
  }

  public String name() {
    return name;
  }

  @Override
  public Future<?> start() {
    return start.get().recover(e -> Future.failedFuture(new IllegalStateException(name + " did not start: "
        + e.getMessage(), e)));
  }

  @Override
  public Future<?> stop() {
    return stop.get();
  }
}
