package dev.brook.it.faults;

/**
 * A check over a finished run: pure logic over the {@link History} and the {@link FinalState},
 * no I/O, so it can be unit-tested on synthetic histories. A later workload (consumer groups,
 * idempotence, transactions) adds its own checker next to {@link LogChecker}.
 */
public interface Checker {
  /** Inspects the run and says what it found. */
  CheckResult check(History history, FinalState end, long runEndNanos);
}
