package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three in-process voters on 127.0.0.1 over the GRPC transport. */
@Timeout(120)
class ThreeVoterQuorumTest {
  @TempDir
  Path dir;

  private List<QuorumConfig> configs(long requestTimeoutMs) {
    int[] ports = QuorumTestSupport.freePorts(3);
    List<QuorumConfig.Voter> voters = List.of(
        new QuorumConfig.Voter(1, "127.0.0.1", ports[0]),
        new QuorumConfig.Voter(2, "127.0.0.1", ports[1]),
        new QuorumConfig.Voter(3, "127.0.0.1", ports[2]));
    List<QuorumConfig> out = new ArrayList<>();
    for (QuorumConfig.Voter v : voters) {
      out.add(QuorumConfig.builder().nodeId(v.id()).quorumAddress(v.address()).voters(voters)
          .dataDir(dir.resolve("node" + v.id())).requestTimeoutMs(requestTimeoutMs).brokerSessionTimeoutMs(60_000).build());
    }
    return out;
  }

  @Test
  void everyNodeSeesTheTopic() throws Exception {
    List<MetadataQuorum> nodes = new ArrayList<>();
    try {
      List<CompletableFuture<MetadataQuorum>> starting = new ArrayList<>();
      for (QuorumConfig c : configs(15_000)) {
        starting.add(CompletableFuture.supplyAsync(() -> {
          try {
            return MetadataQuorum.start(c);
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }));
      }
      for (CompletableFuture<MetadataQuorum> f : starting) nodes.add(f.get(30, TimeUnit.SECONDS));

      // The first leader initializes the cluster; every node learns the same id.
      await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n -> n.client().image().clusterId() != null));
      assertThat(nodes).extracting(n -> n.client().image().clusterId()).containsOnly(nodes.get(0).client().image().clusterId());

      for (int id = 1; id <= 3; id++) {
        QuorumTestSupport.registerAndUnfence(nodes.get(id - 1).client(), id, "127.0.0.1:" + (9090 + id), "");
      }
      // Sent through node 2, whichever node leads.
      CreateTopicsResponse r = nodes.get(1).client().createTopics(CreateTopicsRequest.newBuilder()
          .addTopics(NewTopic.newBuilder().setName("replicated").setPartitions(3).setReplicationFactor(3)).build())
          .get(15, TimeUnit.SECONDS);
      assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
      long version = nodes.get(1).client().image().version();

      for (MetadataQuorum n : nodes) {
        MetadataImage image = n.client().awaitVersion(version).get(15, TimeUnit.SECONDS);
        TopicImage t = image.topic("replicated");
        assertThat(t.topicId()).isEqualTo(r.getTopics(0).getTopicId());
        assertThat(t.partitions()).extracting(PartitionImage::leaderId).containsExactlyInAnyOrder(1, 2, 3);
        assertThat(image.brokers()).containsOnlyKeys(1, 2, 3);
      }
      int leader = nodes.get(0).client().status().getLeaderId();
      assertThat(leader).isBetween(1, 3);
      assertThat(nodes.get(0).client().status().getVotersCount()).isEqualTo(3);
    } finally {
      QuorumTestSupport.closeAll(nodes);
    }
  }

  /**
   * A follower that was down while the leader snapshotted and purged its log catches up from the
   * snapshot: Ratis ships the checkpoint files and the follower restores its RocksDB from them.
   */
  @Test
  void laggingFollowerCatchesUpFromASnapshot() throws Exception {
    List<QuorumConfig> configs = new ArrayList<>();
    for (QuorumConfig c : configs(15_000)) {
      configs.add(QuorumConfig.builder().nodeId(c.nodeId()).quorumAddress(c.quorumAddress()).voters(c.voters())
          .dataDir(c.dataDir()).requestTimeoutMs(15_000).brokerSessionTimeoutMs(60_000).snapshotThresholdEntries(4).build());
    }
    java.util.function.Consumer<org.apache.ratis.conf.RaftProperties> tiny = p -> {
      org.apache.ratis.server.RaftServerConfigKeys.Log.setSegmentSizeMax(p, org.apache.ratis.util.SizeInBytes.valueOf("2KB"));
      org.apache.ratis.server.RaftServerConfigKeys.Log.setPurgeGap(p, 1);
      // An install attempt made while the follower was down leaves chunks in flight that must
      // time out before the next attempt (8 x 3 s by default): keep that short in the test.
      org.apache.ratis.grpc.GrpcConfigKeys.Server.setInstallSnapshotRequestTimeout(p,
          org.apache.ratis.util.TimeDuration.valueOf(500, TimeUnit.MILLISECONDS));
    };
    List<MetadataQuorum> nodes = new ArrayList<>();
    MetadataQuorum third = null;
    try {
      List<CompletableFuture<MetadataQuorum>> starting = new ArrayList<>();
      for (QuorumConfig c : configs) starting.add(CompletableFuture.supplyAsync(() -> startUnchecked(c, tiny)));
      for (CompletableFuture<MetadataQuorum> f : starting) nodes.add(f.get(30, TimeUnit.SECONDS));
      await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n -> n.client().image().clusterId() != null));
      third = nodes.remove(2);
      third.close();

      MetadataClient client = nodes.get(0).client();
      QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9091", "");
      for (int i = 0; i < 40; i++) {
        client.createTopics(CreateTopicsRequest.newBuilder()
            .addTopics(NewTopic.newBuilder().setName("lag-" + i).setPartitions(2)).build()).get(15, TimeUnit.SECONDS);
      }
      MetadataImage expected = client.image();

      third = startUnchecked(configs.get(2), tiny);
      MetadataQuorum restarted = third;
      await().atMost(Duration.ofSeconds(60)).until(() -> restarted.client().image().version() >= expected.version());
      assertThat(restarted.client().image().topics()).isEqualTo(expected.topics());
      assertThat(restarted.client().image().clusterId()).isEqualTo(expected.clusterId());

    } finally {
      nodes.add(third);
      QuorumTestSupport.closeAll(nodes);
    }
  }

  private static MetadataQuorum startUnchecked(QuorumConfig c,
      java.util.function.Consumer<org.apache.ratis.conf.RaftProperties> tuning) {
    try {
      return MetadataQuorum.start(c, tuning);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void withoutAMajorityWritesFailWithQuorumNotAvailable() throws Exception {
    MetadataQuorum lonely = MetadataQuorum.start(configs(1_500).get(0));
    try {
      assertThat(lonely.client().image().clusterId()).isNull();
      CompletableFuture<?> f = lonely.client().registerBroker(1, "127.0.0.1:9092", "");
      assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause().isInstanceOfSatisfying(QuorumException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.QUORUM_NOT_AVAILABLE));
      assertThat(lonely.client().status().getLeaderId()).isEqualTo(-1);
    } finally {
      lonely.close();
    }
  }
}
