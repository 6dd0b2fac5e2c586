package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.protocol.StoredBatch;
import dev.brook.quorum.PartitionImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

  @BeforeAll
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, Map.of("replica.lag.time.max.ms", "2000", "min.insync.replicas", "2"));
  }

  @AfterAll
  void stop() {
    if (cluster != null) cluster.close();
  }

  private void create(String topic, int replicationFactor) {
    var created = AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(topic).setPartitions(1)
            .setReplicationFactor(replicationFactor).putConfigs("segment.bytes", "2048")
            .putConfigs("min.insync.replicas", replicationFactor == 1 ? "1" : "2")).build());
    assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      PartitionImage p = cluster.partition(topic, 0);
      return p != null && p.leaderId() > 0 && p.isr().size() == replicationFactor;
    });
  }

  private List<String> produce(String topic, int batches) throws Exception {
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < batches; i++) {
      PartitionProduceResult r = RawClient.produce(cluster.channel(cluster.partition(topic, 0).leaderId()), Acks.ACKS_ALL,
          10_000, topic, 0, RawClient.batch("m" + i, 5));
      assertThat(r.getError().getCode()).as("produce %d", i).isEqualTo(ErrorCode.NONE);
      for (int j = 0; j < 5; j++) sent.add("m" + i + "/" + j);
    }
    return sent;
  }

  /**
   * Flips one bit inside the records of the third batch of the node's first (closed) segment, the
   * way a disk would; returns that batch's base offset.
   */
  private long flipABit(int node, String topic) throws Exception {
    Path first;
    try (Stream<Path> files = Files.list(cluster.logDir(node, topic, 0))) {
      List<Path> logs = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
      assertThat(logs.size()).as("closed segments").isGreaterThan(1);
      first = logs.get(0);
    }
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(first)).order(ByteOrder.LITTLE_ENDIAN);
    int pos = 0;
    for (int i = 0; i < 2; i++) pos += StoredBatch.frameSizeAt(bytes, pos, bytes.limit());
    int size = StoredBatch.frameSizeAt(bytes, pos, bytes.limit());
    long base = StoredBatch.baseOffset(bytes, pos);
    int target = pos + size - 3; // inside the records bytes
    try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, target);
      one.put(0, (byte) (one.get(0) ^ 0x04)).rewind();
      ch.write(one, target);
    }
    return base;
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

  private byte[] logBytes(int node, String topic) throws Exception {
    try (Stream<Path> files = Files.list(cluster.logDir(node, topic, 0))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) out.write(Files.readAllBytes(f));
      return out.toByteArray();
    }
  }

  @Test
  void aCorruptLeaderHandsOverAndIsRepairedFromAnInSyncReplica() throws Exception {
    String topic = "replicated";
    create(topic, 3);
    List<String> sent = produce(topic, 40);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(logBytes(2, topic)).isEqualTo(logBytes(1, topic));
      assertThat(logBytes(3, topic)).isEqualTo(logBytes(1, topic));
    });
    int leader = cluster.partition(topic, 0).leaderId();
    long corrupt = flipABit(leader, topic);

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
      assertThat(logBytes(leader, topic)).isEqualTo(logBytes(cluster.partition(topic, 0).leaderId(), topic));
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
    create(topic, 3);
    List<String> sent = produce(topic, 40);
    int follower = cluster.partition(topic, 0).isr().stream().filter(r -> r != cluster.partition(topic, 0).leaderId())
        .findFirst().orElseThrow();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(logBytes(follower, topic)).isEqualTo(logBytes(cluster.partition(topic, 0).leaderId(), topic)));
    cluster.stop(follower);
    forgetRecoveryPoint(follower, topic);
    long bad = flipABit(follower, topic);
    cluster.restart(follower);

    assertThat(cluster.node(follower).replicaManager().partition(topic, 0)).isNotNull();
    try (Stream<Path> files = Files.list(cluster.logDir(follower, topic, 0))) {
      assertThat(files.map(f -> f.getFileName().toString()).toList())
          .anyMatch(n -> n.contains(".log.corrupt-")).anyMatch(n -> n.contains(".log.detached-"));
    }
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(cluster.partition(topic, 0).isr()).contains(follower);
      assertThat(logBytes(follower, topic)).isEqualTo(logBytes(cluster.partition(topic, 0).leaderId(), topic));
    });
    Read all = readUntilError(cluster.partition(topic, 0).leaderId(), topic);
    assertThat(new ArrayList<>(all.values().values())).isEqualTo(sent);
    assertThat(bad).isPositive();
  }

  @Test
  void aDamagedClosedSegmentOfAnUnreplicatedPartitionKeepsItOfflineWithAClearError() throws Exception {
    String topic = "recovered-single";
    create(topic, 1);
    produce(topic, 40);
    int node = cluster.partition(topic, 0).leaderId();
    cluster.stop(node);
    forgetRecoveryPoint(node, topic);
    long bad = flipABit(node, topic);
    byte[] damaged = logBytes(node, topic);
    cluster.restart(node);

    assertThat(cluster.node(node).replicaManager().partition(topic, 0)).isNull();
    FetchPartitionResult r = RawClient.fetch(cluster.channel(node), fetchAt(topic, 0));
    assertThat(r.getError().getCode()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(r.getError().getMessage()).contains(topic + "-0").contains("offset " + bad)
        .contains("bin/brook log repair");
    assertThat(logBytes(node, topic)).isEqualTo(damaged);
  }

  @Test
  void withoutAGoodReplicaTheConsumerGetsAClearErrorAndNothingIsDeleted() throws Exception {
    String topic = "single";
    create(topic, 1);
    List<String> sent = produce(topic, 40);
    int node = cluster.partition(topic, 0).leaderId();
    long corrupt = flipABit(node, topic);
    byte[] damaged = logBytes(node, topic);

    Read read = readUntilError(node, topic);
    assertThat(read.values().values()).containsExactlyElementsOf(sent.subList(0, (int) corrupt));
    assertThat(read.last().getError().getCode()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(read.last().getError().getMessage()).contains(topic + "-0").contains("offset " + corrupt);
    // The same answer again, not a retry storm of something else, and the data is left alone.
    assertThat(RawClient.fetch(cluster.channel(node), fetchAt(topic, corrupt)).getError().getCode())
        .isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(logBytes(node, topic)).isEqualTo(damaged);
    // Reads past the damaged batch and appends at the end still work.
    FetchPartitionResult after = RawClient.fetch(cluster.channel(node), fetchAt(topic, corrupt + 5));
    assertThat(after.getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(RawClient.produce(cluster.channel(node), Acks.ACKS_ALL, 10_000, topic, 0, RawClient.batch("late", 1))
        .getError().getCode()).isEqualTo(ErrorCode.NONE);
  }
}
