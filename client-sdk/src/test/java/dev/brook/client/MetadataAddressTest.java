package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetadataAddressTest {
  @Test
  void recentlyFailedAddressesAreTriedLastInTheOrderTheyFailed() {
    long now = 100_000;
    List<String> rotated = List.of("a:1", "b:1", "c:1", "d:1");
    Map<String, Long> failed = Map.of("a:1", now - 100, "c:1", now - 2_000);
    assertThat(Metadata.failedLast(rotated, failed, now)).containsExactly("b:1", "d:1", "c:1", "a:1");
  }

  @Test
  void anOldFailureNoLongerCountsAndAllFailedStillLeavesEveryAddress() {
    long now = 100_000;
    List<String> rotated = List.of("a:1", "b:1");
    assertThat(Metadata.failedLast(rotated, Map.of("a:1", now - Metadata.FAILED_ADDRESS_PENALTY_MS), now))
        .containsExactly("a:1", "b:1");
    assertThat(Metadata.failedLast(rotated, Map.of("a:1", now - 1, "b:1", now - 2), now)).containsExactly("b:1", "a:1");
  }
}
