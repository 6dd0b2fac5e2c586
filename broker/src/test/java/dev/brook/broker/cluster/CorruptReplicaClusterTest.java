package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.protocol.StoredBatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bit flipped in a closed segment, found when a consumer reads across it: with other in-sync
 * replicas the corrupt leader hands over, the consumer reads every record, and the corrupt copy is
 * repaired from the new leader until the logs are identical again; with no other replica the
 * consumer gets CORRUPT_RECORD naming the partition and offset, and nothing is deleted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class CorruptReplicaClusterTest {
  @TempDir
  static Path dir;

  private InProcessCluster cluster;
  private CorruptionFixture fx;

  @BeforeAll
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, Map.of("replica.lag.time.max.ms", "2000", "min.insync.replicas", "2"));
    fx = new CorruptionFixture(cluster);
  }

  @AfterAll
  void stop() {
    if (cluster != null) cluster.close();
  }

  private static FetchRequest.Builder fetchAt(String topic, long offset) {
    return FetchRequest.newBuilder().setMaxWaitMs(0).addTopics(FetchTopic.newBuilder().setTopic(topic)
        .addPartitions(FetchPartition.newBuilder().setPartition(0).setFetchOffset(offset).setCurrentLeaderEpoch(-1)));
  }

  /** Reads from {@code from} until an error or the high watermark; values by offset, and the last answer. */
  private record Read(TreeMap<Long, String> values, FetchPartitionResult last, long next) {}

  private Read readUntilError(int node, String topic) throws Exception {
    TreeMap<Long, String> values = new TreeMap<>();
    long offset = 0;
    while (true) {
      FetchPartitionResult r = RawClient.fetch(cluster.channel(node), fetchAt(topic, offset));
      if (r.getError().getCode() != ErrorCode.NONE || r.getRecords().isEmpty()) return new Read(values, r, offset);
      for (RecordBatch b : RecordBatchList.parseFrom(r.getRecords()).getBatchesList()) {
        assertThat(StoredBatch.computeCrc(b)).as("CRC of a served batch").isEqualTo(b.getCrc());
        var list = dev.brook.proto.v1.RecordList.parseFrom(b.getRecords());
        for (var rec : list.getRecordsList()) values.put(b.getBaseOffset() + rec.getOffsetDelta(), rec.getValue().toStringUtf8());
        offset = b.getBaseOffset() + b.getRecordCount();
      }
    }
  }


  @Test
  void aCorruptLeaderHandsOverAndIsRepairedFromAnInSyncReplica() throws Exception {
    String topic = "replicated";
    fx.create(topic, 3);
    List<String> sent = fx.produce(topic, 40);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(fx.logBytes(2, topic)).isEqualTo(fx.logBytes(1, topic));
      assertThat(fx.logBytes(3, topic)).isEqualTo(fx.logBytes(1, topic));
    });
    int leader = cluster.partition(topic, 0).leaderId();
    long corrupt = fx.flipABit(leader, topic);

    Read before = readUntilError(leader, topic);
    assertThat(before.last().getError().getCode()).isEqualTo(ErrorCode.LEADER_NOT_AVAILABLE);
    assertThat(before.last().getError().getMessage()).contains("corrupt at offset " + corrupt);
    assertThat(before.values()).hasSize((int) corrupt);

    // Another in-sync replica leads; a consumer reads every record, in order.
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.partition(topic, 0).leaderId() != leader);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Read all = readUntilError(cluster.partition(topic, 0).leaderId(), topic);
      assertThat(all.last().getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(new ArrayList<>(all.values().values())).isEqualTo(sent);
    });
    // The corrupt copy was cut at the bad batch, re-fetched, and is in sync and identical again.
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(cluster.partition(topic, 0).isr()).contains(leader);
      assertThat(fx.logBytes(leader, topic)).isEqualTo(fx.logBytes(cluster.partition(topic, 0).leaderId(), topic));
    });
    assertThat(cluster.node(leader).replicaManager().partition(topic, 0).corruptFrom()).isEqualTo(-1);
  }

  /** Makes the next start of {@code node} recover every segment of the partition as after a crash with no checkpoint. */
  private void forgetRecoveryPoint(int node, String topic) throws Exception {
    Path d = cluster.logDir(node, topic, 0);
    Files.deleteIfExists(d.resolve(".clean-shutdown"));
    Files.deleteIfExists(d.resolve("recovery-point"));
  }

  @Test
  void aDamagedClosedSegmentFoundAtRecoveryIsSetAsideAndRefetched() throws Exception {
    String topic = "recovered";
    fx.create(topic, 3);
    List<String> sent = fx.produce(topic, 40);
    int follower = cluster.partition(topic, 0).isr().stream().filter(r -> r != cluster.partition(topic, 0).leaderId())
        .findFirst().orElseThrow();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(fx.logBytes(follower, topic)).isEqualTo(fx.logBytes(cluster.partition(topic, 0).leaderId(), topic)));
    cluster.stop(follower);
    forgetRecoveryPoint(follower, topic);
    long bad = fx.flipABit(follower, topic);
    cluster.restart(follower);

    // The replica opens (and recovers) its log when the restarted node's first image arrives.
    await().atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(cluster.node(follower).replicaManager().partition(topic, 0)).isNotNull());
    try (Stream<Path> files = Files.list(cluster.logDir(follower, topic, 0))) {
      assertThat(files.map(f -> f.getFileName().toString()).toList())
          .anyMatch(n -> n.contains(".log.corrupt-")).anyMatch(n -> n.contains(".log.detached-"));
    }
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(cluster.partition(topic, 0).isr()).contains(follower);
      assertThat(fx.logBytes(follower, topic)).isEqualTo(fx.logBytes(cluster.partition(topic, 0).leaderId(), topic));
    });
    Read all = readUntilError(cluster.partition(topic, 0).leaderId(), topic);
    assertThat(new ArrayList<>(all.values().values())).isEqualTo(sent);
    assertThat(bad).isPositive();
  }

  @Test
  void aDamagedClosedSegmentOfAnUnreplicatedPartitionKeepsItOfflineWithAClearError() throws Exception {
    String topic = "recovered-single";
    fx.create(topic, 1);
    fx.produce(topic, 40);
    int node = cluster.partition(topic, 0).leaderId();
    cluster.stop(node);
    forgetRecoveryPoint(node, topic);
    long bad = fx.flipABit(node, topic);
    byte[] damaged = fx.logBytes(node, topic);
    cluster.restart(node);

    // The broker is admitted before its first image opens (and refuses) the log; until then the
    // partition is unknown here and a reader is told LEADER_NOT_AVAILABLE, which it retries.
    await().atMost(Duration.ofSeconds(30))
        .until(() -> cluster.node(node).replicaManager().offline(topic, 0) != null);
    assertThat(cluster.node(node).replicaManager().offline(topic, 0).damaged()).isTrue();
    assertThat(cluster.node(node).replicaManager().partition(topic, 0)).isNull();
    FetchPartitionResult r = RawClient.fetch(cluster.channel(node), fetchAt(topic, 0));
    assertThat(r.getError().getCode()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(r.getError().getMessage()).contains(topic + "-0").contains("offset " + bad)
        .contains("bin/brook log repair");
    assertThat(fx.logBytes(node, topic)).isEqualTo(damaged);
  }

  @Test
  void withoutAGoodReplicaTheConsumerGetsAClearErrorAndNothingIsDeleted() throws Exception {
    String topic = "single";
    fx.create(topic, 1);
    List<String> sent = fx.produce(topic, 40);
    int node = cluster.partition(topic, 0).leaderId();
    long corrupt = fx.flipABit(node, topic);
    byte[] damaged = fx.logBytes(node, topic);

    Read read = readUntilError(node, topic);
    assertThat(read.values().values()).containsExactlyElementsOf(sent.subList(0, (int) corrupt));
    assertThat(read.last().getError().getCode()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(read.last().getError().getMessage()).contains(topic + "-0").contains("offset " + corrupt);
    // The same answer again, not a retry storm of something else, and the data is left alone.
    assertThat(RawClient.fetch(cluster.channel(node), fetchAt(topic, corrupt)).getError().getCode())
        .isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(fx.logBytes(node, topic)).isEqualTo(damaged);
    // Reads past the damaged batch and appends at the end still work.
    FetchPartitionResult after = RawClient.fetch(cluster.channel(node), fetchAt(topic, corrupt + 5));
    assertThat(after.getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(RawClient.produce(cluster.channel(node), Acks.ACKS_ALL, 10_000, topic, 0, RawClient.batch("late", 1))
        .getError().getCode()).isEqualTo(ErrorCode.NONE);
  }
}
