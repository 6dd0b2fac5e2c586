package dev.brook.it.faults;

import java.util.Random;

/**
 * One kind of fault the nemesis injects: {@link #inject} breaks something (chosen with the run's
 * seeded {@link Random}) and returns how to heal it; the nemesis heals after a seeded hold time
 * and then waits for the cluster to recover. See {@link Faults} for the kinds.
 */
interface Fault {
  /** The name used in options and in the summary line, e.g. {@code kill-partition-leader}. */
  String kind();

  Injected inject(RunContext ctx, Random rng) throws Exception;

  /** What an injection hit (a description and the node ids) and how to undo it. */
  record Injected(String target, java.util.List<Integer> nodes, Heal heal) {}

  @FunctionalInterface
  interface Heal {
    void heal() throws Exception;
  }
}
