package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.broker.replica.Partition;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.protocol.TopicConfig;
import dev.brook.quorum.PartitionImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unclean leader election with real brokers: two brokers (1 and 2) and a quorum-only voter (3),
 * two topics on both brokers, one with {@code unclean.leader.election.enable=true}. Broker 2 falls
 * behind (its fetchers paused) and leaves both ISRs; records acknowledged with acks=1 reach only
 * broker 1; then broker 1 stops.
 * <ul>
 *   <li>The clean topic stays offline: nobody who has every acknowledged record is alive.
 *   <li>The unclean topic is led by broker 2 under a new leader epoch and takes writes; the
 *       records only broker 1 had are gone.
 *   <li>When broker 1 returns it truncates its tail to broker 2's history (by leader epoch),
 *       rejoins the ISR, and both logs are byte-identical.
 * </ul>
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class UncleanElectionClusterTest {
  private static final String UNCLEAN = "risky";
  private static final String CLEAN = "careful";
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private InProcessCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 2, 1, Map.of(
        "replica.lag.time.max.ms", "1500",
        "replica.fetch.wait.max.ms", "200",
        "controlled.shutdown.timeout.ms", "5000"));
    createTopic(UNCLEAN, Map.of(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE, "true"));
    createTopic(CLEAN, Map.of());
  }

  @AfterEach
  void stop() {
    if (cluster != null) cluster.close();
  }

  /** One partition, replicas [1, 2] (broker 1 preferred), both in sync. */
  private void createTopic(String topic, Map<String, String> configs) {
    var created = AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
            .setName(topic).setPartitions(1).setReplicationFactor(2).putAllConfigs(configs)).build());
    assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    await().atMost(WAIT).until(() -> {
      PartitionImage p = cluster.partition(topic, 0);
      return p != null && p.leaderId() == 1 && p.isr().size() == 2;
    });
  }

  private Partition replica(int node, String topic) {
    return cluster.node(node) == null ? null : cluster.node(node).replicaManager().partition(topic, 0);
  }

  /** Produces one batch of 3 records to the current leader until acknowledged; records the values by offset. */
  private void produceAcked(String topic, Acks acks, String tag, Map<Long, String> acked) {
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> {
      int leader = cluster.partition(topic, 0).leaderId();
      if (leader < 0) return false;
      PartitionProduceResult r = RawClient.produce(cluster.channel(leader), acks, 5000, topic, 0,
          RawClient.batch(tag, 3));
      if (r.getError().getCode() != ErrorCode.NONE) return false;
      for (int i = 0; i < 3; i++) acked.put(r.getBaseOffset() + i, tag + "/" + i);
      return true;
    });
  }

  private byte[] logBytes(int node, String topic) throws Exception {
    List<Path> segments;
    try (var files = Files.list(cluster.logDir(node, topic, 0))) {
      segments = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
    }
    var out = new java.io.ByteArrayOutputStream();
    for (Path f : segments) out.write(Files.readAllBytes(f));
    return out.toByteArray();
  }

  @Test
  void anOutOfSyncReplicaLeadsOnlyWhereAllowedAndTheOldLeaderTruncatesToIt() throws Exception {
    Map<String, Map<Long, String>> committed = Map.of(UNCLEAN, new TreeMap<>(), CLEAN, new TreeMap<>());
    for (String t : List.of(UNCLEAN, CLEAN)) {
      for (int i = 0; i < 3; i++) produceAcked(t, Acks.ACKS_ALL, "both" + i, committed.get(t));
    }

    // Broker 2 stops replicating: broker 1 drops it from both ISRs after replica.lag.time.max.ms.
    cluster.node(2).replicaManager().setReplicaFetchersPaused(true);
    await().atMost(WAIT).until(() -> cluster.partition(UNCLEAN, 0).isr().equals(List.of(1))
        && cluster.partition(CLEAN, 0).isr().equals(List.of(1)));
    long brokerTwoEnd = replica(2, UNCLEAN).log().logEndOffset();
    Map<Long, String> onlyOnOne = new TreeMap<>();
    for (int i = 0; i < 4; i++) produceAcked(UNCLEAN, Acks.ACKS_LEADER, "only-on-1-" + i, onlyOnOne);
    assertThat(replica(2, UNCLEAN).log().logEndOffset()).isEqualTo(brokerTwoEnd);
    int epochBefore = cluster.partition(UNCLEAN, 0).leaderEpoch();

    cluster.stop(1);
    cluster.node(2).replicaManager().setReplicaFetchersPaused(false);

    // The topic that allows it gets broker 2 as leader, alone in its ISR, with a new epoch.
    await().atMost(WAIT).until(() -> {
      PartitionImage p = cluster.partition(UNCLEAN, 0);
      return p.leaderId() == 2 && replica(2, UNCLEAN) != null && replica(2, UNCLEAN).isLeader();
    });
    PartitionImage elected = cluster.partition(UNCLEAN, 0);
    assertThat(elected.isr()).containsExactly(2);
    assertThat(elected.leaderEpoch()).isGreaterThan(epochBefore);
    // The clean topic stays without a leader, and keeps broker 1 as its only in-sync replica.
    PartitionImage offline = cluster.partition(CLEAN, 0);
    assertThat(offline.leaderId()).isEqualTo(-1);
    assertThat(offline.isr()).containsExactly(1);

    Map<Long, String> afterElection = new TreeMap<>();
    for (int i = 0; i < 2; i++) produceAcked(UNCLEAN, Acks.ACKS_ALL, "after-" + i, afterElection);
    assertThat(afterElection.keySet()).allMatch(o -> o >= brokerTwoEnd)
        .as("the new leader writes where its own log ended").contains(brokerTwoEnd);

    // Broker 1 returns: it follows broker 2, drops the records only it had, and rejoins.
    cluster.restart(1);
    await().atMost(WAIT).until(() -> cluster.partition(UNCLEAN, 0).isr().size() == 2);
    await().atMost(WAIT).until(() -> cluster.partition(CLEAN, 0).leaderId() >= 0);
    await().atMost(WAIT).untilAsserted(() ->
        assertThat(logBytes(1, UNCLEAN)).isEqualTo(logBytes(2, UNCLEAN)));

    int leader = cluster.partition(UNCLEAN, 0).leaderId();
    TreeMap<Long, String> read = RawClient.consumeAll(cluster.channel(leader), UNCLEAN, 0).values();
    TreeMap<Long, String> expected = new TreeMap<>(committed.get(UNCLEAN));
    expected.putAll(afterElection);
    assertThat(read).isEqualTo(expected);
    List<String> lost = new ArrayList<>(onlyOnOne.values());
    assertThat(read.values()).doesNotContainAnyElementsOf(lost);

    // Nothing of the clean topic was lost: its leader came back with everything acknowledged.
    leader = cluster.partition(CLEAN, 0).leaderId();
    assertThat(RawClient.consumeAll(cluster.channel(leader), CLEAN, 0).values()).isEqualTo(committed.get(CLEAN));
  }
}
