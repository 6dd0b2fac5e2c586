package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The background scrubber finds a bit flipped in a closed segment that nobody reads: a follower's
 * copy is cut and fetched again until it is identical to the leader's; a partition without another
 * replica is marked corrupt from the damaged batch.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ScrubberClusterTest {
  @TempDir
  static Path dir;

  private InProcessCluster cluster;
  private CorruptionFixture fx;

  @BeforeAll
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, Map.of("replica.lag.time.max.ms", "2000", "min.insync.replicas", "2",
        "log.scrubber.enable", "true", "log.scrubber.interval.ms", "200", "log.scrubber.bytes.per.second", "104857600"));
    fx = new CorruptionFixture(cluster);
  }

  @AfterAll
  void stop() {
    if (cluster != null) cluster.close();
  }

  @Test
  void aDamagedFollowerCopyIsFoundAndRefetched() throws Exception {
    String topic = "scrubbed";
    fx.create(topic, 3);
    fx.produce(topic, 40);
    int leader = cluster.partition(topic, 0).leaderId();
    int follower = cluster.partition(topic, 0).isr().stream().filter(r -> r != leader).findFirst().orElseThrow();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(fx.logBytes(follower, topic)).isEqualTo(fx.logBytes(leader, topic)));
    fx.flipABit(follower, topic);
    assertThat(fx.logBytes(follower, topic)).isNotEqualTo(fx.logBytes(leader, topic));

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(fx.logBytes(follower, topic)).isEqualTo(fx.logBytes(cluster.partition(topic, 0).leaderId(), topic));
      assertThat(cluster.partition(topic, 0).isr()).contains(follower);
    });
    assertThat(cluster.node(follower).replicaManager().scrubberPasses()).isPositive();
  }

  @Test
  void aDamagedUnreplicatedPartitionIsMarkedWithoutAnyRead() throws Exception {
    String topic = "scrubbed-single";
    fx.create(topic, 1);
    fx.produce(topic, 40);
    int node = cluster.partition(topic, 0).leaderId();
    long bad = fx.flipABit(node, topic);
    await().atMost(Duration.ofSeconds(30)).until(() ->
        cluster.node(node).replicaManager().partition(topic, 0).corruptFrom() == bad);
  }
}
