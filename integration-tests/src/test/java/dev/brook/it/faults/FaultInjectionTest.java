package dev.brook.it.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short fault run of {@code mvn -B verify}: seed 42, about two minutes, the fault kinds that
 * the current code survives ({@link RunOptions#SAFE_FAULTS}). Every option can be overridden with
 * {@code -Dfaults.<name>=<value>} (e.g. {@code -Dfaults.duration=1800 -Dfaults.faults=all}); the
 * run is bounded by its duration plus ten minutes.
 */
class FaultInjectionTest {
  @Test
  @Timeout(value = 12, unit = TimeUnit.HOURS) // the real bound is the preemptive one below
  void shortFaultRunHasNoViolations() {
    RunOptions options = RunOptions.parse();
    FaultRunner.Outcome outcome = assertTimeoutPreemptively(Duration.ofSeconds(options.durationSec() + 600L),
        () -> new FaultRunner(options).run());
    assertThat(outcome.failed()).as("%s%nrun dir (node logs kept): %s%n%s", outcome.summary(), outcome.runDir(),
        String.join("\n", outcome.report())).isFalse();
  }
}
