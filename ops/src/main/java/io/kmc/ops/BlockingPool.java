package io.kmc.ops;

import io.kmc.common.KmcException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded pool of named threads for blocking calls (client-java, password hashing). Work beyond
 * its threads and queue is refused at once with a 429 instead of piling up; results come back on
 * the caller's Vert.x context, never on a pool thread.
 */
public final class BlockingPool implements AutoCloseable {

  private final String name;
  private final ThreadPoolExecutor executor;

  private BlockingPool(String name, ThreadPoolExecutor executor) {
    this.name = name;
    this.executor = executor;
  }

  /** A fixed number of threads with a bounded queue in front of them. */
  public static BlockingPool fixed(String name, int threads, int queue) {
    ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
        queue > 0 ? new ArrayBlockingQueue<>(queue) : new SynchronousQueue<>(), threadFactory(name));
    executor.allowCoreThreadTimeOut(true);
    return new BlockingPool(name, executor);
  }

  /** Runs {@code task} on a pool thread; the future completes on {@code context}. */
  public <T> Future<T> submit(Context context, Callable<T> task) {
    Promise<T> promise = Promise.promise();
    try {
      executor.execute(() -> {
        try {
          T result = task.call();
          context.runOnContext(v -> promise.complete(result));
        } catch (Throwable t) {
          context.runOnContext(v -> promise.fail(t));
        }
      });
    } catch (RejectedExecutionException e) {
      promise.fail(KmcException.tooManyRequests(name + " is saturated ("
          + executor.getMaximumPoolSize() + " threads busy); retry later"));
    }
    return promise.future();
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }

  private static ThreadFactory threadFactory(String name) {
    AtomicInteger counter = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
