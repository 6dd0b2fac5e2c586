package dev.brook.quorum;

import dev.brook.quorum.raft.RejoinAwareLogAppender;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A voter whose whole data directory was lost rejoins under the same node id and address while
 * the Raft leader stays in place: it catches up from the leader's snapshot when the leader has
 * purged its log, and from the log when it has not. Without {@link RejoinAwareLogAppender} both
 * tests time out: the idle leader heartbeats forever with the follower's pre-wipe match index and
 * ignores its "next index 0" answers.
 */
@Timeout(120)
class WipedVoterRejoinTest {
  @TempDir
  Path dir;

  /** Tiny segments so a snapshot lets the leader purge; short install-snapshot chunk timeout. */
  private static final Consumer<RaftProperties> TUNING = p -> {
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("1KB"));
    RaftServerConfigKeys.Log.setPurgeGap(p, 1);
    GrpcConfigKeys.Server.setInstallSnapshotRequestTimeout(p, TimeDuration.valueOf(500, TimeUnit.MILLISECONDS));
  };

  @Test
  void wipedFollowerCatchesUpFromTheLeadersSnapshotAfterThePurge() throws Exception {
    wipeAndRejoin(true);
  }

  @Test
  void wipedFollowerCatchesUpFromTheLogWhenNothingWasPurged() throws Exception {
    wipeAndRejoin(false);
  }

  private void wipeAndRejoin(boolean snapshotAndPurge) throws Exception {
    int[] ports = QuorumTestSupport.freePorts(3);
    List<QuorumConfig.Voter> voters = List.of(
        new QuorumConfig.Voter(1, "127.0.0.1", ports[0]),
        new QuorumConfig.Voter(2, "127.0.0.1", ports[1]),
        new QuorumConfig.Voter(3, "127.0.0.1", ports[2]));
    List<QuorumConfig> configs = new ArrayList<>();
    for (QuorumConfig.Voter v : voters) {
      // No automatic snapshot: the test decides when the leader snapshots.
      configs.add(QuorumConfig.builder().nodeId(v.id()).quorumAddress(v.address()).voters(voters)
          .dataDir(dir.resolve("node" + v.id())).requestTimeoutMs(15_000).brokerSessionTimeoutMs(60_000)
          .snapshotThresholdEntries(1_000_000).build());
    }
    MetadataQuorum[] nodes = new MetadataQuorum[3];
    try {
      List<CompletableFuture<MetadataQuorum>> starting = new ArrayList<>();
      for (QuorumConfig c : configs) starting.add(CompletableFuture.supplyAsync(() -> start(c)));
      for (int i = 0; i < 3; i++) nodes[i] = starting.get(i).get(30, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(30)).until(() -> Stream.of(nodes).allMatch(n -> n.client().image().clusterId() != null
          && n.client().status().getLeaderId() > 0));

      int leaderId = nodes[0].client().status().getLeaderId();
      MetadataQuorum leader = nodes[leaderId - 1];
      long term = leader.client().status().getTerm();
      int wipedId = leaderId % 3 + 1; // a follower
      MetadataClient client = leader.client();

      for (int id = 1; id <= 3; id++) QuorumTestSupport.registerAndUnfence(client, id, "127.0.0.1:" + (9090 + id), "");
      for (int i = 0; i < 25; i++) createTopic(client, "topic-" + i);
      assertThat(client.deleteTopics(DeleteTopicsRequest.newBuilder().addNames("topic-3").build())
          .get(15, TimeUnit.SECONDS).getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
      long before = client.image().version();
      for (MetadataQuorum n : nodes) n.client().awaitVersion(before).get(15, TimeUnit.SECONDS);

      if (snapshotAndPurge) {
        // The leader snapshots and purges its log; the follower had acknowledged everything, so the
        // leader's stale view of it (match index = its last entry) points into the log it has.
        long snapshotIndex = leader.raftClient().getSnapshotManagementApi().create(1, 15_000).getLogIndex();
        assertThat(snapshotIndex).isGreaterThanOrEqualTo(before);
        await().atMost(Duration.ofSeconds(15)).until(() -> leader.division().getRaftLog().getStartIndex() > 0);
      }

      // The follower loses everything: stopped, its whole data directory deleted.
      nodes[wipedId - 1].close();
      nodes[wipedId - 1] = null;
      QuorumTestSupport.deleteTree(configs.get(wipedId - 1).dataDir());
      assertThat(Files.exists(configs.get(wipedId - 1).dataDir())).isFalse();

      // No writes until it caught up: an idle leader only heartbeats, the case in which Ratis'
      // stock appender never got a wiped follower going (with writes it sometimes escaped by luck).
      if (snapshotAndPurge) {
        // Entry 0 is gone from the leader's log: only the snapshot can serve the empty follower.
        assertThat(leader.division().getRaftLog().getStartIndex()).isPositive();
      } else {
        assertThat(leader.division().getRaftLog().getStartIndex()).isZero();
        assertThat(leader.division().getStateMachine().getLatestSnapshot()).isNull();
      }

      nodes[wipedId - 1] = start(configs.get(wipedId - 1));
      MetadataQuorum wiped = nodes[wipedId - 1];
      MetadataImage expected = client.image();
      await().atMost(Duration.ofSeconds(45)).until(() -> wiped.client().image().version() >= expected.version());
      assertThat(wiped.client().image()).isEqualTo(expected);
      assertThat(wiped.client().image().topics()).isEqualTo(expected.topics()); // ids and assignments
      assertThat(wiped.client().image().brokers()).isEqualTo(expected.brokers());

      // A full member again: it applies new entries, and the same leader led throughout.
      CreateTopicsResponse after = createTopic(client, "after-rejoin");
      MetadataImage latest = client.image();
      assertThat(wiped.client().awaitVersion(latest.version()).get(15, TimeUnit.SECONDS)).isEqualTo(latest);
      assertThat(wiped.client().image().topic("after-rejoin").topicId()).isEqualTo(after.getTopics(0).getTopicId());
      assertThat(leader.client().status().getLeaderId()).isEqualTo(leaderId);
      assertThat(leader.client().status().getTerm()).isEqualTo(term);
      await().atMost(Duration.ofSeconds(5)).until(() -> wiped.client().status().getLeaderId() == leaderId);
      assertThat(wiped.client().status().getTerm()).isEqualTo(term);

      if (snapshotAndPurge) {
        assertThat(wiped.division().getStateMachine().getLatestSnapshot()).isNotNull();
      } else {
        // Caught up entry by entry: its log starts at the first index, no snapshot was shipped.
        assertThat(wiped.division().getRaftLog().getStartIndex()).isZero();
        assertThat(wiped.division().getStateMachine().getLatestSnapshot()).isNull();
      }
    } finally {
      QuorumTestSupport.closeAll(nodes);
    }
  }

  private static CreateTopicsResponse createTopic(MetadataClient client, String name) throws Exception {
    CreateTopicsResponse r = client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName(name).setPartitions(3).setReplicationFactor(3)).build())
        .get(15, TimeUnit.SECONDS);
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    return r;
  }

  private static MetadataQuorum start(QuorumConfig c) {
    try {
      return MetadataQuorum.start(c, TUNING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
