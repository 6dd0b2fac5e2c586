package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GroupPlacementTest {
  private static MetadataImage brokers(int count, int... inactive) {
    List<BrokerImage> out = new ArrayList<>();
    for (int id = 1; id <= count; id++) {
      boolean fenced = false;
      for (int i : inactive) fenced |= i == id;
      out.add(new BrokerImage(id, "h:" + id, "", fenced, 10L + id, false));
    }
    return MetadataImage.of(1, "c", List.of(), out);
  }

  @Test
  void groupsSpreadOverTheActiveBrokersAndOnlyTheFencedBrokersGroupsMove() {
    MetadataImage all = brokers(3);
    MetadataImage twoFenced = brokers(3, 2);
    Map<Integer, Integer> load = new HashMap<>();
    int moved = 0;
    for (int g = 0; g < 3_000; g++) {
      String group = "group-" + g;
      int before = GroupPlacement.coordinator(group, all);
      int after = GroupPlacement.coordinator(group, twoFenced);
      load.merge(before, 1, Integer::sum);
      assertThat(after).isNotEqualTo(2);
      if (before != 2) assertThat(after).as(group).isEqualTo(before); // nobody else's group moves
      if (before != after) moved++;
    }
    assertThat(load).containsOnlyKeys(1, 2, 3);
    assertThat(load.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
    assertThat(moved).isEqualTo(load.get(2));
  }

  @Test
  void theAnswerIsStableAndNoActiveBrokerMeansNoCoordinator() {
    assertThat(GroupPlacement.coordinator("g", brokers(3))).isEqualTo(GroupPlacement.coordinator("g", brokers(3)));
    assertThat(GroupPlacement.coordinator("g", brokers(2, 1, 2))).isEqualTo(-1);
    assertThat(GroupPlacement.coordinator("g", brokers(3, 1, 3))).isEqualTo(2);
    // The documented weight: the first 64 bits of murmur3_x64_128 over "g\0" + "1".
    assertThat(GroupPlacement.weight("g", 1)).isEqualTo(com.google.common.hash.Hashing.murmur3_128()
        .hashBytes("g\u00001".getBytes(java.nio.charset.StandardCharsets.UTF_8)).asLong());
  }
}
