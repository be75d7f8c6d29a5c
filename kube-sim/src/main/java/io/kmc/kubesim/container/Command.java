package io.kmc.kubesim.container;

import io.vertx.core.Future;

/**
 * A program a container can run. It runs on the container's event-loop context and must not block
 * it: waiting is done with timers, stream callbacks or (tar) a worker thread. The future completes
 * with the exit status; a failed future is turned into a message on stderr and status 1 (141 for a
 * broken pipe), as a crashing program's shell would report it.
 */
@FunctionalInterface
interface Command {
  Future<Integer> run(Invocation invocation);
}
