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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication across three in-process nodes, through the raw gRPC API: acks=all produces are
 * acknowledged once the whole ISR has them, the three logs end up byte-identical, a stopped
 * follower leaves the ISR while acks=all keeps working with min.insync.replicas=2, and a
 * restarted follower catches up and rejoins.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ReplicationClusterTest {
  private static final String TOPIC = "replicated";

  @TempDir
  Path dir;

  private InProcessCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, Map.of(
        "replica.lag.time.max.ms", "2000",
        "min.insync.replicas", "2",
        "controlled.shutdown.timeout.ms", "10000"));
    var created = AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
            .setName(TOPIC).setPartitions(1).setReplicationFactor(3)).build());
    assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      PartitionImage p = cluster.partition(TOPIC, 0);
      return p != null && p.leaderId() > 0 && p.isr().size() == 3;
    });
  }

  @AfterEach
  void stop() {
    if (cluster != null) cluster.close();
  }

  private static RecordBatch batch(String tag, int records) {
    return RawClient.batch(tag, records);
  }

  private int leader() {
    return cluster.partition(TOPIC, 0).leaderId();
  }

  /** One acks=all produce request to the current leader; its partition result. */
  private PartitionProduceResult produce(RecordBatch batch) throws Exception {
    return RawClient.produce(cluster.channel(leader()), Acks.ACKS_ALL, 5000, TOPIC, 0, batch);
  }

  /** Produces until acknowledged (the ISR may be changing); returns the base offset. */
  private long produceAcked(RecordBatch batch) {
    long[] offset = {-1};
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
      PartitionProduceResult r = produce(batch);
      if (r.getError().getCode() == ErrorCode.NONE) {
        offset[0] = r.getBaseOffset();
        return true;
      }
      assertThat(r.getError().getCode()).isIn(ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT,
          ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE);
      return false;
    });
    return offset[0];
  }

  /** Every record value below the high watermark of the leader, read as a consumer. */
  private List<String> consumeAll() throws Exception {
    return new ArrayList<>(consumeAllByOffset().values());
  }

  /** Every record below the high watermark of the leader by offset, read as a consumer. */
  private java.util.TreeMap<Long, String> consumeAllByOffset() throws Exception {
    RawClient.Consumed c = RawClient.consumeAll(cluster.channel(leader()), TOPIC, 0);
    assertThat(c.leaderEpoch()).isEqualTo(cluster.partition(TOPIC, 0).leaderEpoch());
    return c.values();
  }

  private byte[] logBytes(int node) throws Exception {
    Path d = cluster.logDir(node, TOPIC, 0);
    try (Stream<Path> files = Files.list(d)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) out.write(Files.readAllBytes(f));
      return out.toByteArray();
    }
  }

  private void awaitIdenticalLogs(int... nodes) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      byte[] first = logBytes(nodes[0]);
      assertThat(first).isNotEmpty();
      for (int i = 1; i < nodes.length; i++) {
        assertThat(logBytes(nodes[i])).as("log of node %d vs node %d", nodes[i], nodes[0]).isEqualTo(first);
      }
    });
  }

  @Test
  void acksAllIsAcknowledgedByTheIsrAndTheLogsAreByteIdentical() throws Exception {
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      PartitionProduceResult r = produce(batch("m" + i, 5));
      assertThat(r.getError().getCode()).as("produce %d", i).isEqualTo(ErrorCode.NONE);
      assertThat(r.getBaseOffset()).isEqualTo(5L * i);
      for (int j = 0; j < 5; j++) sent.add("m" + i + "/" + j);
    }
    // acknowledged with acks=all: already below the high watermark, so a consumer sees all of it
    assertThat(consumeAll()).isEqualTo(sent);
    awaitIdenticalLogs(1, 2, 3);
    for (int n = 1; n <= 3; n++) {
      assertThat(Files.readString(cluster.logDir(n, TOPIC, 0).resolve("leader-epoch-checkpoint")))
          .isEqualTo(Files.readString(cluster.logDir(leader(), TOPIC, 0).resolve("leader-epoch-checkpoint")));
    }
  }

  /** Produces {@code n} acknowledged batches of 3 records; records each acknowledged record by offset. */
  private void produceAcked(String tag, int n, Map<Long, String> acked) {
    for (int i = 0; i < n; i++) {
      long base = produceAcked(batch(tag + i, 3));
      for (int j = 0; j < 3; j++) acked.put(base + j, tag + i + "/" + j);
    }
  }

  private void assertNothingAcknowledgedIsLost(Map<Long, String> acked) throws Exception {
    java.util.TreeMap<Long, String> read = consumeAllByOffset();
    for (Map.Entry<Long, String> e : acked.entrySet()) {
      assertThat(read.get(e.getKey())).as("acknowledged record at offset %d", e.getKey()).isEqualTo(e.getValue());
    }
  }

  @Test
  void leaderFailoverKeepsEveryAcknowledgedRecordAndTheOldLeaderRejoins() throws Exception {
    Map<Long, String> acked = new java.util.HashMap<>();
    produceAcked("first", 10, acked);
    PartitionImage before = cluster.partition(TOPIC, 0);
    int oldLeader = before.leaderId();
    cluster.stop(oldLeader);
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      PartitionImage p = cluster.partition(TOPIC, 0);
      return p.leaderId() > 0 && p.leaderId() != oldLeader && p.leaderEpoch() > before.leaderEpoch();
    });
    produceAcked("second", 10, acked);
    assertNothingAcknowledgedIsLost(acked);

    cluster.restart(oldLeader);
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.partition(TOPIC, 0).isr().contains(oldLeader));
    produceAcked("third", 5, acked);
    assertNothingAcknowledgedIsLost(acked);
    awaitIdenticalLogs(1, 2, 3);
  }

  /** One raw fetch on a fresh stream to the leader; its only partition result. */
  private FetchPartitionResult rawFetch(FetchRequest.Builder request) throws Exception {
    return RawClient.fetch(cluster.channel(leader()), request);
  }

  private static FetchRequest.Builder followerFetch(int replicaId, long offset, int currentEpoch, int lastFetchedEpoch) {
    return FetchRequest.newBuilder().setMaxWaitMs(0).setReplicaId(replicaId).setReplicaBrokerEpoch(1)
        .addTopics(FetchTopic.newBuilder().setTopic(TOPIC).addPartitions(FetchPartition.newBuilder().setPartition(0)
            .setFetchOffset(offset).setCurrentLeaderEpoch(currentEpoch).setLastFetchedEpoch(lastFetchedEpoch)));
  }

  @Test
  void followerFetchesAreCheckedAgainstReplicasEpochsAndTheEpochHistory() throws Exception {
    for (int i = 0; i < 4; i++) assertThat(produce(batch("x" + i, 5)).getError().getCode()).isEqualTo(ErrorCode.NONE);
    PartitionImage p = cluster.partition(TOPIC, 0);
    int epoch = p.leaderEpoch();
    int follower = p.replicas().stream().filter(r -> r != p.leaderId()).findFirst().orElseThrow();

    FetchPartitionResult notReplica = rawFetch(followerFetch(99, 0, epoch, -1));
    assertThat(notReplica.getError().getCode()).isEqualTo(ErrorCode.INELIGIBLE_REPLICA);
    assertThat(notReplica.getLeaderEpoch()).isEqualTo(epoch);

    assertThat(rawFetch(followerFetch(follower, 0, epoch + 1, -1)).getError().getCode())
        .isEqualTo(ErrorCode.UNKNOWN_LEADER_EPOCH);

    // the follower claims records of a later epoch beyond the leader's end: diverging, no records
    FetchPartitionResult diverging = rawFetch(followerFetch(follower, 35, epoch, epoch + 3));
    assertThat(diverging.getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(diverging.hasDivergingEpoch()).isTrue();
    assertThat(diverging.getDivergingEpoch().getEpoch()).isEqualTo(epoch);
    assertThat(diverging.getDivergingEpoch().getEndOffset()).isEqualTo(20);
    assertThat(diverging.getRecords().isEmpty()).isTrue();
    assertThat(diverging.getLeaderEpoch()).isEqualTo(epoch);

    // an agreeing follower gets whole stored batches, untouched
    FetchPartitionResult ok = rawFetch(followerFetch(follower, 5, epoch, epoch));
    assertThat(ok.getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(ok.hasDivergingEpoch()).isFalse();
    List<RecordBatch> batches = RecordBatchList.parseFrom(ok.getRecords()).getBatchesList();
    assertThat(batches).extracting(RecordBatch::getBaseOffset).containsExactly(5L, 10L, 15L);
    assertThat(batches).allSatisfy(b -> assertThat(StoredBatch.computeCrc(b)).isEqualTo(b.getCrc()));
  }

  @Test
  void aStoppedFollowerLeavesTheIsrAndRejoinsAfterCatchingUp() throws Exception {
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      assertThat(produce(batch("before" + i, 3)).getError().getCode()).isEqualTo(ErrorCode.NONE);
      for (int j = 0; j < 3; j++) sent.add("before" + i + "/" + j);
    }
    int leader = leader();
    int follower = leader == 3 ? 2 : 3;
    cluster.stop(follower);

    // with min.insync.replicas=2 of 3, acks=all keeps working once the ISR has dropped the follower
    for (int i = 0; i < 10; i++) {
      produceAcked(batch("during" + i, 3));
      for (int j = 0; j < 3; j++) sent.add("during" + i + "/" + j);
    }
    assertThat(cluster.partition(TOPIC, 0).isr()).doesNotContain(follower).hasSize(2);
    assertThat(consumeAll()).isEqualTo(sent);

    cluster.restart(follower);
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.partition(TOPIC, 0).isr().contains(follower));
    for (int i = 0; i < 5; i++) {
      produceAcked(batch("after" + i, 3));
      for (int j = 0; j < 3; j++) sent.add("after" + i + "/" + j);
    }
    assertThat(consumeAll()).isEqualTo(sent);
    awaitIdenticalLogs(1, 2, 3);
  }
}
