package io.kmc.kubesim;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts requests by Kubernetes verb and path, so tests can prove what a client did (for example
 * that an informer listed once and then only watched). Written on the event loop, read from test
 * threads, hence the concurrent map.
 */
final class RequestCounter {

  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

  void count(String verb, String path) {
    counts.computeIfAbsent(verb + " " + path, k -> new LongAdder()).increment();
  }

  long get(String verb, String path) {
    LongAdder adder = counts.get(verb + " " + path);
    return adder == null ? 0 : adder.sum();
  }
}
