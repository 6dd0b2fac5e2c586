package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broker leases end to end: three in-process voters, three (simulated) brokers that register and
 * heartbeat through a remote client ({@link MetadataQuorum#connect}), which also observes every
 * change through its watch. Scripted: spread leaders, a broker falls silent and is fenced, comes
 * back and gets its leaderships back, then the Raft leader dies and the cluster carries on.
 */
@Timeout(120)
class BrokerLeaseClusterTest {
  private static final long SESSION_MS = 1_500;
  private static final long HEARTBEAT_MS = 150;

  @TempDir
  Path dir;

  @Test
  void leasesFencingPreferredLeadersAndRaftLeaderLoss() throws Exception {
    int[] ports = QuorumTestSupport.freePorts(3);
    List<QuorumConfig.Voter> voters = List.of(
        new QuorumConfig.Voter(1, "127.0.0.1", ports[0]),
        new QuorumConfig.Voter(2, "127.0.0.1", ports[1]),
        new QuorumConfig.Voter(3, "127.0.0.1", ports[2]));
    List<MetadataQuorum> nodes = new ArrayList<>();
    ScheduledExecutorService heartbeater = Executors.newSingleThreadScheduledExecutor();
    MetadataClient remote = null;
    try {
      List<CompletableFuture<MetadataQuorum>> starting = new ArrayList<>();
      for (QuorumConfig.Voter v : voters) {
        QuorumConfig c = QuorumConfig.builder().nodeId(v.id()).quorumAddress(v.address()).voters(voters)
            .dataDir(dir.resolve("node" + v.id())).requestTimeoutMs(10_000)
            .brokerSessionTimeoutMs(SESSION_MS).leaderImbalanceCheckIntervalMs(1_000).build();
        starting.add(CompletableFuture.supplyAsync(() -> {
          try {
            return MetadataQuorum.start(c);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }));
      }
      for (CompletableFuture<MetadataQuorum> f : starting) nodes.add(f.get(30, TimeUnit.SECONDS));

      MetadataClient client = MetadataQuorum.connect(new QuorumConfig.ClientConfig(voters, 10_000, 100));
      remote = client;
      await().atMost(Duration.ofSeconds(30)).until(() -> client.image().clusterId() != null);

      // Three brokers register (fenced) and heartbeat (unfenced).
      Map<Integer, Long> epochs = new ConcurrentHashMap<>();
      Map<Integer, Boolean> beating = new ConcurrentHashMap<>();
      for (int id = 1; id <= 3; id++) {
        epochs.put(id, client.registerBroker(id, "127.0.0.1:" + (9090 + id), "").get(15, TimeUnit.SECONDS));
        assertThat(client.image().brokers().get(id).fenced()).isTrue();
        beating.put(id, true);
      }
      heartbeater.scheduleAtFixedRate(() -> epochs.forEach((id, epoch) -> {
        if (beating.get(id)) client.heartbeat(id, epoch, false);
      }), 0, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
      await().atMost(Duration.ofSeconds(10)).until(() -> client.image().brokers().values().stream().noneMatch(BrokerImage::fenced));

      // A topic of 6 partitions, RF 3: two leaders per broker.
      CreateTopicsResponse created = client.createTopics(CreateTopicsRequest.newBuilder()
          .addTopics(NewTopic.newBuilder().setName("spread").setPartitions(6).setReplicationFactor(3)).build())
          .get(15, TimeUnit.SECONDS);
      assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
      TopicImage spread = client.image().topic("spread");
      Map<Integer, Integer> leaders = new HashMap<>();
      for (PartitionImage p : spread.partitions()) leaders.merge(p.leaderId(), 1, Integer::sum);
      assertThat(leaders).containsOnlyKeys(1, 2, 3).allSatisfy((b, n) -> assertThat(n).isEqualTo(2));

      // Broker 2 falls silent: fenced once its session is over, its partitions led by others.
      beating.put(2, false);
      long stoppedAt = System.nanoTime();
      await().atMost(Duration.ofMillis(SESSION_MS + 3_000)).until(() -> client.image().brokers().get(2).fenced());
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt)).isGreaterThanOrEqualTo(SESSION_MS - HEARTBEAT_MS - 50);
      TopicImage afterFence = client.image().topic("spread");
      for (PartitionImage before : spread.partitions()) {
        PartitionImage after = afterFence.partitions().get(before.partition());
        assertThat(after.isr()).doesNotContain(2);
        assertThat(after.leaderId()).isIn(1, 3);
        if (before.leaderId() == 2) assertThat(after.leaderEpoch()).isGreaterThan(before.leaderEpoch());
        assertThat(after.partitionEpoch()).isGreaterThan(before.partitionEpoch());
      }
      assertThat(client.image().brokers().get(1).fenced()).isFalse();

      // Its old epoch is spent: heartbeats under it are refused, it stays fenced.
      assertThat(client.heartbeat(2, epochs.get(2), false).get(15, TimeUnit.SECONDS).error())
          .isEqualTo(ErrorCode.STALE_BROKER_EPOCH);
      // It registers again (new epoch) and comes back: unfenced; its leaders re-add it to their
      // ISRs once it caught up (simulated here), and the controller gives the preferred
      // leaderships back.
      long renewed = client.registerBroker(2, "127.0.0.1:9092", "").get(15, TimeUnit.SECONDS);
      assertThat(renewed).isGreaterThan(epochs.get(2));
      epochs.put(2, renewed);
      beating.put(2, true);
      await().atMost(Duration.ofSeconds(5)).until(() -> !client.image().brokers().get(2).fenced());
      for (PartitionImage p : client.image().topic("spread").partitions()) {
        List<Integer> isr = new ArrayList<>(p.isr());
        isr.add(2);
        AlterPartitionResult r = client.alterPartition(new AlterPartitionRequest("spread", p.partition(), p.leaderId(),
            epochs.get(p.leaderId()), p.leaderEpoch(), p.partitionEpoch(), isr)).get(15, TimeUnit.SECONDS);
        if (r.error() == ErrorCode.INVALID_UPDATE_VERSION || r.error() == ErrorCode.FENCED_LEADER_EPOCH) {
          // The controller moved this partition meanwhile (a preferred election): retry on its state.
          PartitionImage q = r.partition();
          isr = new ArrayList<>(q.isr());
          if (!isr.contains(2)) isr.add(2);
          r = client.alterPartition(new AlterPartitionRequest("spread", q.partition(), q.leaderId(),
              epochs.get(q.leaderId()), q.leaderEpoch(), q.partitionEpoch(), isr)).get(15, TimeUnit.SECONDS);
        }
        assertThat(r.error()).as("%s", r).isEqualTo(ErrorCode.NONE);
        assertThat(r.partition().isr()).contains(2);
      }
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(client.image().topic("spread").partitions())
          .allSatisfy(p -> assertThat(p.leaderId()).isEqualTo(p.preferredLeader())));
      for (PartitionImage before : spread.partitions()) {
        PartitionImage now = client.image().topic("spread").partitions().get(before.partition());
        if (before.leaderId() == 2) assertThat(now.leaderEpoch()).isEqualTo(before.leaderEpoch() + 2);
      }
      ElectLeadersResponse elect = client.electLeaders(ElectLeadersRequest.getDefaultInstance()).get(15, TimeUnit.SECONDS);
      assertThat(elect.getResultsList()).hasSize(6)
          .allSatisfy(r -> assertThat(r.getError().getCode()).isEqualTo(ErrorCode.ELECTION_NOT_NEEDED));
      assertThat(client.heartbeatAgesMs().get(15, TimeUnit.SECONDS)).containsOnlyKeys(1, 2, 3)
          .allSatisfy((id, age) -> assertThat(age).isLessThan(SESSION_MS));

      // The Raft leader dies: another voter takes over, heartbeats continue, nothing is lost.
      MetadataImage beforeLoss = client.image();
      int raftLeader = nodes.get(0).client().status().getLeaderId();
      assertThat(raftLeader).isBetween(1, 3);
      MetadataQuorum dead = nodes.get(raftLeader - 1);
      dead.close();
      List<MetadataQuorum> survivors = new ArrayList<>(nodes);
      survivors.remove(dead);
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        int l = survivors.get(0).client().status().getLeaderId();
        return l != -1 && l != raftLeader;
      });
      CreateTopicsResponse after = client.createTopics(CreateTopicsRequest.newBuilder()
          .addTopics(NewTopic.newBuilder().setName("after-loss").setPartitions(3).setReplicationFactor(3)).build())
          .get(15, TimeUnit.SECONDS);
      assertThat(after.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
      // The new leader gives every broker a full session; their heartbeats keep them unfenced.
      await().during(Duration.ofMillis(2 * SESSION_MS)).atMost(Duration.ofMillis(2 * SESSION_MS + 2_000))
          .until(() -> client.image().brokers().values().stream().noneMatch(BrokerImage::fenced));
      assertThat(client.heartbeatAgesMs().get(15, TimeUnit.SECONDS)).containsOnlyKeys(1, 2, 3);
      assertThat(client.image().topic("spread")).isEqualTo(beforeLoss.topic("spread"));
      for (MetadataQuorum n : survivors) {
        MetadataImage image = n.client().awaitVersion(client.image().version()).get(15, TimeUnit.SECONDS);
        assertThat(image.topic("spread")).isEqualTo(beforeLoss.topic("spread"));
        assertThat(image.topic("after-loss").topicId()).isEqualTo(after.getTopics(0).getTopicId());
      }
      assertThat(client.status().getLeaderId()).isNotIn(-1, raftLeader);
    } finally {
      heartbeater.shutdownNow();
      if (remote != null) remote.close();
      QuorumTestSupport.closeAll(nodes);
    }
  }
}
