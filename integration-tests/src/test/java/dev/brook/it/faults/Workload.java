package dev.brook.it.faults;

/**
 * Client activity during a fault run that records what it did and saw in the {@link History}.
 * Started before the first fault, stopped after the last heal; a checker (see {@link Checker})
 * judges what it recorded. Later features add theirs (consumer groups, idempotent and
 * transactional producers) next to {@link ProducerWorkload} and {@link ConsumerWorkload}.
 */
interface Workload {
  String name();

  void start(RunContext ctx);

  /** Stops issuing new work and waits (bounded) for outstanding work to complete. */
  void stop() throws InterruptedException;

  /**
   * After the final heal, with the cluster healthy again and before the nodes stop: reads what
   * the checkers need from the cluster's final state (a group's committed offsets, say).
   */
  default void finish(RunContext ctx) {}

  /** Progress so far, e.g. acknowledgements; used to wait for the workload to be under way. */
  long progress();

  /** A short summary for the report. */
  String stats();
}
