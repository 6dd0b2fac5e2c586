package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CommittedPartitionOffset;
import dev.brook.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.brook.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.DeleteGroupsRequest;
import dev.brook.proto.v1.DeletedGroup;
import dev.brook.proto.v1.DescribeGroupsRequest;
import dev.brook.proto.v1.DescribedGroup;
import dev.brook.proto.v1.DescribedMember;
import dev.brook.proto.v1.ListGroupsRequest;
import dev.brook.proto.v1.ListedGroup;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FindCoordinatorRequest;
import dev.brook.proto.v1.FindCoordinatorResponse;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.GroupTopicPartitions;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.OffsetCommitPartition;
import dev.brook.proto.v1.OffsetCommitRequest;
import dev.brook.proto.v1.OffsetCommitTopic;
import dev.brook.proto.v1.OffsetFetchRequest;
import dev.brook.proto.v1.OffsetFetchResponse;
import dev.brook.proto.v1.OwnedPartitions;
import dev.brook.proto.v1.Subscription;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The consumer group RPCs on a 3-broker cluster, driven as a client in another language would
 * (raw gRPC, group.proto only): coordinator lookup, incremental rebalance with pushes, commits
 * fenced by member epoch, offsets readable from any broker, and a coordinator failover.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class GroupServiceClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String GROUP = "g";
  private static final String TOPIC = "events";

  @TempDir
  Path dir;

  private InProcessCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, 0, Map.of(
        "group.consumer.session.timeout.ms", "20000",
        "group.consumer.heartbeat.interval.ms", "1000",
        "broker.session.timeout.ms", "3000",
        "controlled.shutdown.timeout.ms", "2000"));
    AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
            .setName(TOPIC).setPartitions(6).setReplicationFactor(3)).build());
  }

  @AfterEach
  void stop() {
    if (cluster != null) cluster.close();
  }

  /** A member's heartbeat stream; answers and pushes in arrival order. */
  private static final class Member implements AutoCloseable {
    final String id;
    final BlockingQueue<ConsumerGroupHeartbeatResponse> received = new LinkedBlockingQueue<>();
    final StreamObserver<ConsumerGroupHeartbeatRequest> requests;
    int epoch;
    Set<Integer> owned = new HashSet<>();

    Member(String id, Channel channel) {
      this.id = id;
      requests = GroupServiceGrpc.newStub(channel).consumerGroupHeartbeat(new StreamObserver<>() {
        @Override
        public void onNext(ConsumerGroupHeartbeatResponse r) {
          received.add(r);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
    }

    /** Sends a heartbeat and returns its answer (pushes before it are skipped). */
    ConsumerGroupHeartbeatResponse beat(ConsumerGroupHeartbeatRequest.Builder r) throws InterruptedException {
      requests.onNext(r.setGroupId(GROUP).setMemberId(id).build());
      while (true) {
        ConsumerGroupHeartbeatResponse a = received.poll(30, TimeUnit.SECONDS);
        if (a == null) throw new AssertionError(id + ": no answer");
        if (a.getPushed()) continue;
        if (a.getError().getCode() == ErrorCode.NONE) {
          epoch = a.getMemberEpoch();
          if (a.hasAssignment()) owned = partitions(a.getAssignment());
        }
        return a;
      }
    }

    ConsumerGroupHeartbeatResponse join() throws InterruptedException {
      return beat(ConsumerGroupHeartbeatRequest.newBuilder().setMemberEpoch(0).setClientId("c-" + id)
          .setSubscription(Subscription.newBuilder().addTopics(TOPIC)).setRebalanceTimeoutMs(30_000)
          .setOwnedPartitions(OwnedPartitions.getDefaultInstance()));
    }

    /** A heartbeat reporting what it owns now (it releases at once what it was not assigned). */
    ConsumerGroupHeartbeatResponse heartbeat() throws InterruptedException {
      return beat(ConsumerGroupHeartbeatRequest.newBuilder().setMemberEpoch(epoch).setOwnedPartitions(owned(owned)));
    }

    boolean pushed() {
      return received.stream().anyMatch(ConsumerGroupHeartbeatResponse::getPushed);
    }

    @Override
    public void close() {
      try {
        requests.onCompleted();
      } catch (RuntimeException e) {
        // already gone
      }
    }
  }

  private static Set<Integer> partitions(OwnedPartitions o) {
    Set<Integer> out = new HashSet<>();
    o.getTopicsList().forEach(t -> out.addAll(t.getPartitionsList()));
    return out;
  }

  private static OwnedPartitions owned(Set<Integer> ps) {
    return OwnedPartitions.newBuilder().addTopics(GroupTopicPartitions.newBuilder().setTopic(TOPIC).addAllPartitions(ps)).build();
  }

  private FindCoordinatorResponse find(int via) {
    return GroupServiceGrpc.newBlockingStub(cluster.channel(via)).withDeadlineAfter(10, TimeUnit.SECONDS)
        .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(GROUP).build());
  }

  private ErrorCode commit(int via, Member m, int epoch, int partition, long offset) {
    return commitError(via, m, epoch, TOPIC, partition, offset).getCode();
  }

  private dev.brook.proto.v1.Error commitError(int via, Member m, int epoch, String topic, int partition, long offset) {
    return GroupServiceGrpc.newBlockingStub(cluster.channel(via)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .offsetCommit(OffsetCommitRequest.newBuilder().setGroupId(GROUP).setMemberId(m.id).setMemberEpoch(epoch)
            .addTopics(OffsetCommitTopic.newBuilder().setTopic(topic)
                .addPartitions(OffsetCommitPartition.newBuilder().setPartition(partition).setOffset(offset).setLeaderEpoch(-1)))
            .build()).getError();
  }

  private OffsetFetchResponse fetch(int via) {
    return GroupServiceGrpc.newBlockingStub(cluster.channel(via)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(GROUP).build());
  }

  @Test
  void membersShareTheTopicIncrementallyAndTheGroupSurvivesItsCoordinator() throws Exception {
    int coordinator = find(1).getNodeId();
    assertThat(coordinator).isBetween(1, 3);
    for (int via = 1; via <= 3; via++) assertThat(find(via).getNodeId()).isEqualTo(coordinator);
    int other = coordinator % 3 + 1;

    try (Member a = new Member("member-a", cluster.channel(coordinator));
        Member b = new Member("member-b", cluster.channel(coordinator));
        Member wrong = new Member("member-w", cluster.channel(other))) {
      assertThat(wrong.join().getError().getCode()).isEqualTo(ErrorCode.NOT_COORDINATOR);

      ConsumerGroupHeartbeatResponse ja = a.join();
      assertThat(ja.getError().getCode()).isEqualTo(ErrorCode.NONE);
      // A join may take a second heartbeat to converge (epoch 0 -> the group's epoch).
      await().atMost(WAIT).until(() -> a.heartbeat().getError().getCode() == ErrorCode.NONE && a.owned.size() == 6);

      // b joins: a is pushed, gives up half and keeps consuming the rest; b gets them only then.
      assertThat(b.join().getError().getCode()).isEqualTo(ErrorCode.NONE);
      await().atMost(WAIT).until(a::pushed);
      await().atMost(WAIT).until(() -> {
        a.heartbeat();
        b.heartbeat();
        return a.owned.size() == 3 && b.owned.size() == 3;
      });
      Set<Integer> both = new HashSet<>(a.owned);
      both.addAll(b.owned);
      assertThat(both).hasSize(6);

      // Any broker describes and lists the group; a group with members cannot be deleted.
      await().atMost(WAIT).untilAsserted(() -> {
        DescribedGroup d = GroupServiceGrpc.newBlockingStub(cluster.channel(other)).describeGroups(
            DescribeGroupsRequest.newBuilder().addGroupIds(GROUP).addGroupIds("nope").build()).getGroups(0);
        assertThat(d.getError().getCode()).isEqualTo(ErrorCode.NONE);
        assertThat(d.getCoordinatorId()).isEqualTo(coordinator);
        assertThat(d.getMembersList()).extracting(DescribedMember::getMemberId).containsExactlyInAnyOrder("member-a", "member-b");
        assertThat(d.getMembersList()).allSatisfy(m -> {
          assertThat(m.getClientId()).startsWith("c-member-");
          assertThat(m.getClientHost()).isEqualTo("/127.0.0.1");
          assertThat(m.getAssigned().getTopics(0).getPartitionsCount()).isEqualTo(3);
        });
      });
      assertThat(GroupServiceGrpc.newBlockingStub(cluster.channel(other)).describeGroups(
          DescribeGroupsRequest.newBuilder().addGroupIds("nope").build()).getGroups(0).getError().getCode())
          .isEqualTo(ErrorCode.GROUP_ID_NOT_FOUND);
      assertThat(GroupServiceGrpc.newBlockingStub(cluster.channel(other)).listGroups(ListGroupsRequest.getDefaultInstance())
          .getGroupsList()).extracting(ListedGroup::getGroupId).contains(GROUP);
      DeletedGroup refused = GroupServiceGrpc.newBlockingStub(cluster.channel(coordinator)).deleteGroups(
          DeleteGroupsRequest.newBuilder().addGroupIds(GROUP).build()).getGroups(0);
      assertThat(refused.getError().getCode()).isEqualTo(ErrorCode.NON_EMPTY_GROUP);

      // Commits: by the owner with its epoch; a stale epoch is refused; readable from any broker.
      int pa = a.owned.iterator().next();
      int leader = cluster.partition(TOPIC, pa).leaderId();
      assertThat(RawClient.produce(cluster.channel(leader), dev.brook.proto.v1.Acks.ACKS_ALL, 30_000, TOPIC, pa,
          RawClient.batch("g", 300)).getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(commit(coordinator, a, a.epoch, pa, 100)).isEqualTo(ErrorCode.NONE);
      // Beyond the log end, or a partition that does not exist: refused, nothing changes.
      assertThat(commitError(coordinator, a, a.epoch, TOPIC, pa, 301)).satisfies(e -> {
        assertThat(e.getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
        assertThat(e.getMessage()).contains("offset 301 of " + TOPIC + "-" + pa + " is beyond the end of its log (300)");
      });
      // The member's right comes first: a zombie hears it is fenced, a member that it does not own what it commits.
      assertThat(commitError(coordinator, a, a.epoch - 1, TOPIC, pa, 301).getCode()).isEqualTo(ErrorCode.STALE_MEMBER_EPOCH);
      assertThat(commitError(coordinator, a, a.epoch, TOPIC, 6, 0).getCode()).isEqualTo(ErrorCode.PARTITION_NOT_OWNED);
      assertThat(commitError(coordinator, a, a.epoch, "nope", 0, 0).getCode()).isEqualTo(ErrorCode.PARTITION_NOT_OWNED);
      assertThat(fetch(coordinator).getOffsetsList()).extracting(CommittedPartitionOffset::getOffset).containsExactly(100L);
      assertThat(commit(coordinator, a, a.epoch - 1, pa, 250)).isEqualTo(ErrorCode.STALE_MEMBER_EPOCH);
      assertThat(commit(other, a, a.epoch, pa, 250)).isEqualTo(ErrorCode.NOT_COORDINATOR);
      for (int via = 1; via <= 3; via++) {
        assertThat(fetch(via).getOffsetsList()).extracting(CommittedPartitionOffset::getOffset).containsExactly(100L);
      }

      // The coordinator's broker stops: another takes over with the durable group.
      int aEpoch = a.epoch;
      Set<Integer> aOwned = Set.copyOf(a.owned);
      cluster.stop(coordinator);
      int survivor = other;
      await().atMost(WAIT).until(() -> {
        FindCoordinatorResponse f = find(survivor);
        return f.getError().getCode() == ErrorCode.NONE && f.getNodeId() != coordinator;
      });
      int next = find(survivor).getNodeId();
      try (Member resumed = new Member("member-a", cluster.channel(next))) {
        resumed.epoch = aEpoch;
        resumed.owned = new HashSet<>(aOwned);
        ConsumerGroupHeartbeatResponse r = resumed.heartbeat();
        assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
        assertThat(r.getMemberEpoch()).isEqualTo(aEpoch);
        assertThat(resumed.owned).isEqualTo(aOwned); // nothing moved
        assertThat(commit(next, resumed, aEpoch, pa, 200)).isEqualTo(ErrorCode.NONE);
      }
      assertThat(fetch(survivor).getOffsetsList()).extracting(CommittedPartitionOffset::getOffset).containsExactly(200L);
    }
  }

  @Test
  void anOffsetBeyondTheLogEndOfAPartitionThatLivesOnAnotherBrokerIsRefused() throws Exception {
    // One replica per partition, spread over the brokers: some partition is not on the coordinator,
    // whose check then asks that partition's leader.
    AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
            .setName("spread").setPartitions(3).setReplicationFactor(1)).build());
    String group = "offsets-only";
    int coordinator = GroupServiceGrpc.newBlockingStub(cluster.channel(1)).findCoordinator(
        FindCoordinatorRequest.newBuilder().setGroupId(group).build()).getNodeId();
    await().atMost(WAIT).until(() -> cluster.image().topic("spread") != null
        && cluster.image().topic("spread").partitions().stream().allMatch(p -> p.leaderId() > 0));
    int remote = cluster.image().topic("spread").partitions().stream()
        .filter(p -> !p.replicas().contains(coordinator)).findFirst().orElseThrow().partition();
    int leader = cluster.partition("spread", remote).leaderId();
    assertThat(RawClient.produce(cluster.channel(leader), dev.brook.proto.v1.Acks.ACKS_ALL, 30_000, "spread", remote,
        RawClient.batch("r", 5)).getError().getCode()).isEqualTo(ErrorCode.NONE);
    java.util.function.LongFunction<dev.brook.proto.v1.Error> commit = offset -> GroupServiceGrpc
        .newBlockingStub(cluster.channel(coordinator)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .offsetCommit(OffsetCommitRequest.newBuilder().setGroupId(group).setMemberEpoch(-1)
            .addTopics(OffsetCommitTopic.newBuilder().setTopic("spread")
                .addPartitions(OffsetCommitPartition.newBuilder().setPartition(remote).setOffset(offset).setLeaderEpoch(-1)))
            .build()).getError();
    assertThat(commit.apply(6).getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
    assertThat(commit.apply(5).getCode()).isEqualTo(ErrorCode.NONE);
    // Without members any partition may be committed, as long as it exists.
    dev.brook.proto.v1.Error missing = GroupServiceGrpc.newBlockingStub(cluster.channel(coordinator))
        .withDeadlineAfter(30, TimeUnit.SECONDS).offsetCommit(OffsetCommitRequest.newBuilder().setGroupId(group).setMemberEpoch(-1)
            .addTopics(OffsetCommitTopic.newBuilder().setTopic("spread")
                .addPartitions(OffsetCommitPartition.newBuilder().setPartition(3).setOffset(0).setLeaderEpoch(-1)))
            .build()).getError();
    assertThat(missing.getCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(missing.getMessage()).contains("topic spread has 3 partitions");
  }

  @Test
  void badGroupIdsAreRefusedEverywhere() throws Exception {
    assertThat(GroupServiceGrpc.newBlockingStub(cluster.channel(1)).findCoordinator(
        FindCoordinatorRequest.newBuilder().setGroupId("").build()).getError().getCode()).isEqualTo(ErrorCode.INVALID_GROUP_ID);
    assertThat(GroupServiceGrpc.newBlockingStub(cluster.channel(1)).offsetFetch(
        OffsetFetchRequest.newBuilder().setGroupId("x".repeat(256)).build()).getError().getCode())
        .isEqualTo(ErrorCode.INVALID_GROUP_ID);
    assertThat(List.of(ErrorCode.INVALID_GROUP_ID)).contains(GroupServiceGrpc.newBlockingStub(cluster.channel(1)).offsetCommit(
        OffsetCommitRequest.newBuilder().setGroupId("").build()).getError().getCode());
  }
}
