package dev.brook.quorum.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class PartitionPlacementTest {
  private static final List<Integer> BROKERS = List.of(1, 2, 3, 5, 8);

  @Test
  void everyPartitionGetsReplicationFactorDistinctBrokers() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    for (int round = 0; round < 200; round++) {
      int n = 1 + random.nextInt(BROKERS.size());
      List<Integer> brokers = BROKERS.subList(0, n);
      int rf = 1 + random.nextInt(n);
      int partitions = 1 + random.nextInt(50);
      int topicSeed = random.nextInt();
      List<List<Integer>> placement = PartitionPlacement.place(brokers, partitions, rf, topicSeed);
      assertThat(placement).as("seed %d", seed).hasSize(partitions);
      for (List<Integer> replicas : placement) {
        assertThat(replicas).as("seed %d", seed).hasSize(rf).doesNotHaveDuplicates();
        assertThat(brokers).as("seed %d", seed).containsAll(replicas);
      }
    }
  }

  @Test
  void leadersAreSpreadEvenly() {
    List<List<Integer>> placement = PartitionPlacement.place(BROKERS, 10, 3, 12345);
    Map<Integer, Integer> leaders = new HashMap<>();
    for (List<Integer> r : placement) leaders.merge(r.get(0), 1, Integer::sum);
    assertThat(leaders).hasSize(5).allSatisfy((broker, count) -> assertThat(count).isEqualTo(2));
  }

  @Test
  void followersRotateAcrossRounds() {
    // With 3 brokers and RF 2, the follower of a leader changes after each round of 3 partitions.
    List<List<Integer>> placement = PartitionPlacement.place(List.of(1, 2, 3), 6, 2, 0);
    var pairs = new HashSet<List<Integer>>(placement);
    assertThat(pairs).hasSizeGreaterThan(3);
  }

  @Test
  void sameInputsGiveSamePlacement() {
    int seed = PartitionPlacement.seedFor("orders");
    assertThat(PartitionPlacement.place(BROKERS, 7, 3, seed)).isEqualTo(PartitionPlacement.place(BROKERS, 7, 3, seed));
    assertThat(PartitionPlacement.place(List.of(1, 2, 3), 3, 1, 0))
        .containsExactly(List.of(1), List.of(2), List.of(3));
  }

  @Test
  void singleBroker() {
    assertThat(PartitionPlacement.place(List.of(7), 3, 1, -99)).containsExactly(List.of(7), List.of(7), List.of(7));
  }

  @Test
  void rejectsImpossibleRequests() {
    assertThatThrownBy(() -> PartitionPlacement.place(List.of(1, 2), 1, 3, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PartitionPlacement.place(List.of(), 1, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PartitionPlacement.place(List.of(1), 0, 1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rackAwarePlacementSpansRacksAndSpreadsLeaders() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    // 3 racks of unequal size.
    Map<Integer, String> racks = Map.of(1, "a", 2, "a", 3, "b", 4, "b", 5, "c", 6, "a");
    for (int round = 0; round < 100; round++) {
      int rf = 1 + random.nextInt(racks.size());
      int partitions = 1 + random.nextInt(40);
      List<List<Integer>> placement = PartitionPlacement.place(racks, partitions, rf, random.nextInt());
      assertThat(placement).as("seed %d", seed).hasSize(partitions);
      for (List<Integer> replicas : placement) {
        assertThat(replicas).as("seed %d", seed).hasSize(rf).doesNotHaveDuplicates();
        assertThat(replicas.stream().map(racks::get).distinct().count()).as("seed %d: %s", seed, replicas)
            .isEqualTo(Math.min(rf, 3));
      }
    }
    List<List<Integer>> six = PartitionPlacement.place(racks, 12, 3, 7);
    Map<Integer, Integer> leaders = new HashMap<>();
    for (List<Integer> r : six) leaders.merge(r.get(0), 1, Integer::sum);
    assertThat(leaders).hasSize(6).allSatisfy((broker, count) -> assertThat(count).isEqualTo(2));
  }

  @Test
  void withoutRacksRackAwareIsTheRoundRobin() {
    Map<Integer, String> noRacks = Map.of(1, "", 2, "", 3, "");
    assertThat(PartitionPlacement.place(noRacks, 5, 2, 42)).isEqualTo(PartitionPlacement.place(List.of(1, 2, 3), 5, 2, 42));
  }
}
