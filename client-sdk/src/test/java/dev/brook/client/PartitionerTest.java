package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PartitionerTest {
  @Test
  void murmur2MatchesKafkaTestVectors() {
    // Kafka's UtilsTest.testMurmur2.
    assertThat(DefaultPartitioner.murmur2("21".getBytes(StandardCharsets.UTF_8))).isEqualTo(-973932308);
    assertThat(DefaultPartitioner.murmur2("foobar".getBytes(StandardCharsets.UTF_8))).isEqualTo(-790332482);
    assertThat(DefaultPartitioner.murmur2("a-little-bit-long-string".getBytes(StandardCharsets.UTF_8))).isEqualTo(-985981536);
    assertThat(DefaultPartitioner.murmur2("a-little-bit-longer-string".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1486304829);
    assertThat(DefaultPartitioner.murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(-58897971);
    assertThat(DefaultPartitioner.murmur2(new byte[] {'a', 'b', 'c'})).isEqualTo(479470107);
  }

  @Test
  void keyedRecordsUsePositiveMurmurModuloPartitions() {
    DefaultPartitioner p = new DefaultPartitioner(new Random(1));
    byte[] key = "foobar".getBytes(StandardCharsets.UTF_8);
    int expected = (-790332482 & 0x7fffffff) % 6;
    for (int i = 0; i < 5; i++) {
      assertThat(p.partition("t", "foobar", key, 6)).isEqualTo(expected);
    }
  }

  @Test
  void unkeyedRecordsStickUntilANewBatch() {
    DefaultPartitioner p = new DefaultPartitioner(new Random(42));
    int first = p.partition("t", null, null, 6);
    for (int i = 0; i < 100; i++) assertThat(p.partition("t", null, null, 6)).isEqualTo(first);
    p.onNewBatch("t", first);
    int second = p.partition("t", null, null, 6);
    assertThat(second).isNotEqualTo(first).isBetween(0, 5);
    // A stale notification about the old partition does not move the topic again.
    p.onNewBatch("t", first);
    assertThat(p.partition("t", null, null, 6)).isEqualTo(second);
    // Topics stick independently; a single partition always gets 0.
    assertThat(p.partition("single", null, null, 1)).isZero();
    p.onNewBatch("single", 0);
    assertThat(p.partition("single", null, null, 1)).isZero();
  }

  @Test
  void stickyPartitionsCoverAllPartitionsOverManyBatches() {
    DefaultPartitioner p = new DefaultPartitioner(new Random(7));
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      int part = p.partition("t", null, null, 4);
      seen.add(part);
      p.onNewBatch("t", part);
    }
    assertThat(seen).containsExactlyInAnyOrder(0, 1, 2, 3);
  }

  @Test
  void roundRobinCycles() {
    RoundRobinPartitioner p = new RoundRobinPartitioner();
    assertThat(new int[] {p.partition("t", null, null, 3), p.partition("t", "k", new byte[] {1}, 3),
        p.partition("t", null, null, 3), p.partition("t", null, null, 3)}).containsExactly(0, 1, 2, 0);
  }
}
