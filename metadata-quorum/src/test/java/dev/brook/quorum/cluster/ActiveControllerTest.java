package dev.brook.quorum.cluster;

import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.TopicConfig;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.TopicPartitions;
import dev.brook.quorum.proto.AlterPartitionReply;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.HeartbeatReply;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.PartitionAlteration;
import dev.brook.quorum.proto.PartitionAssignment;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The controller's decisions without Ratis or threads: a fake clock, the leader's validator and
 * the applier stand in for the quorum. Each step reads like a log: heartbeats, a poll, the batch
 * applied, assertions on the image.
 */
@Timeout(30)
class ActiveControllerTest {
  private static final long SESSION_MS = 1_000;
  private static final long IMBALANCE_MS = 5_000;

  private final AtomicInteger ids = new AtomicInteger();
  private final RequestValidator validator =
      new RequestValidator(1, 1, () -> String.format("%032x", ids.incrementAndGet()), () -> 1_000L);
  private final MetadataApplier applier = new MetadataApplier();
  private MetadataImage image = MetadataImage.EMPTY;
  private long index;
  private long now = 100_000;
  private ActiveController controller;

  private com.google.protobuf.ByteString apply(MetadataCommand command) {
    MetadataApplier.Result r = applier.apply(image, command, ++index);
    image = r.image();
    return r.reply();
  }

  /** Moves the clock on as a running controller sees it: observed at every tick, never a pause. */
  private void advance(long ms) {
    advanceTo(now + ms);
  }

  private void advanceTo(long target) {
    while (now < target) {
      now = Math.min(target, now + QuorumController.TICK_MS);
      controller.observe(now);
    }
  }

  /** Polls and applies the batch, like the controller thread; returns it (null = nothing to do). */
  private ControllerBatch step() {
    ControllerBatch batch = controller.poll(image, now);
    if (batch != null) apply(validator.controllerBatch(batch));
    return batch;
  }

  private long register(int id, String rack) throws Exception {
    return RegisterBrokerReply.parseFrom(apply(validator.registerBroker(
        RegisterBrokerRequest.newBuilder().setNodeId(id).setAddress("h:" + id).setRack(rack).build()))).getBrokerEpoch();
  }

  private HeartbeatReply heartbeat(int id) {
    return heartbeat(id, false);
  }

  private HeartbeatReply heartbeat(int id, boolean wantShutdown) {
    return controller.heartbeat(image, id, image.brokers().get(id).brokerEpoch(), wantShutdown, now);
  }

  private void heartbeatAll(int... brokers) {
    for (int b : brokers) heartbeat(b);
  }

  private PartitionImage partition(String topic, int p) {
    return image.topic(topic).partitions().get(p);
  }

  /** Creates a topic with an explicit assignment (through the applier: placement has its own test). */
  private void createTopic(String name, List<List<Integer>> assignment) throws Exception {
    createTopic(name, assignment, Map.of());
  }

  private void createTopic(String name, List<List<Integer>> assignment, Map<String, String> configs) throws Exception {
    MetadataCommand c = validator.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName(name).setPartitions(assignment.size()).setReplicationFactor(1)
            .putAllConfigs(configs)).build(), image);
    var creation = c.getCreateTopics().getTopics(0).toBuilder().clearPartitions();
    for (List<Integer> replicas : assignment) creation.addPartitions(PartitionAssignment.newBuilder().addAllReplicas(replicas));
    var cmd = c.toBuilder().setCreateTopics(c.getCreateTopics().toBuilder().setTopics(0, creation)).build();
    CreateTopicsResponse r = CreateTopicsResponse.parseFrom(apply(cmd));
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
  }

  @BeforeEach
  void threeActiveBrokers() throws Exception {
    apply(validator.initializeCluster());
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now);
    for (int id = 1; id <= 3; id++) register(id, "");
    assertThat(image.brokers().values()).allMatch(BrokerImage::fenced);
    heartbeatAll(1, 2, 3);
    ControllerBatch b = step();
    assertThat(b.getBrokersCount()).isEqualTo(3);
    assertThat(image.brokers().values()).noneMatch(BrokerImage::fenced);
    assertThat(step()).isNull();
  }

  @Test
  void nextLeaseExpiryIsTheInstantThePollFences() {
    long start = now;
    advance(200);
    heartbeatAll(1, 2);
    advance(100);
    heartbeat(3);
    // 1 and 2 were heard first: their deadline comes first, one ms after a whole session.
    assertThat(controller.nextLeaseExpiryMs(image)).isEqualTo(start + 200 + SESSION_MS + 1);
    heartbeatAll(1, 2);
    assertThat(controller.nextLeaseExpiryMs(image)).isEqualTo(start + 300 + SESSION_MS + 1);
    advanceTo(controller.nextLeaseExpiryMs(image) - 1);
    assertThat(step()).isNull(); // a whole session, not yet more
    advance(1);
    assertThat(step().getBrokersList()).hasSize(3).allMatch(c -> c.getFenced() && c.getLeaseExpired());
    // Nobody unfenced holds a lease any more: nothing to wake for.
    assertThat(controller.nextLeaseExpiryMs(image)).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void expiredLeaseFencesAndMovesLeadershipWithinTheIsr() throws Exception {
    createTopic("t", List.of(List.of(3, 1, 2), List.of(3, 2, 1), List.of(1, 3, 2), List.of(2, 1, 3)));
    advance(SESSION_MS / 2);
    heartbeatAll(1, 2, 3);
    advance(SESSION_MS / 2 + 1);
    heartbeatAll(1, 2); // 3 falls silent
    assertThat(step()).isNull(); // its session is not over yet
    advance(SESSION_MS / 2);
    heartbeatAll(1, 2);
    ControllerBatch batch = step();
    assertThat(batch.getBrokersList()).singleElement().satisfies(c -> {
      assertThat(c.getNodeId()).isEqualTo(3);
      assertThat(c.getFenced()).isTrue();
    });
    assertThat(batch.getPartitionsCount()).isEqualTo(4); // one entry for the whole decision
    assertThat(image.brokers().get(3).fenced()).isTrue();
    // Led by 3: the next in-sync replica in replica order leads, leader epoch + 1.
    assertThat(partition("t", 0)).satisfies(p -> {
      assertThat(p.leaderId()).isEqualTo(1);
      assertThat(p.leaderEpoch()).isEqualTo(1);
      assertThat(p.partitionEpoch()).isEqualTo(1);
      assertThat(p.isr()).containsExactly(1, 2);
    });
    assertThat(partition("t", 1).leaderId()).isEqualTo(2);
    // Not led by 3: ISR shrinks, the leader epoch stays (KAFKA-15021), the partition epoch grows.
    assertThat(partition("t", 2)).satisfies(p -> {
      assertThat(p.leaderId()).isEqualTo(1);
      assertThat(p.leaderEpoch()).isZero();
      assertThat(p.partitionEpoch()).isEqualTo(1);
      assertThat(p.isr()).containsExactly(1, 2);
    });
    assertThat(step()).isNull();
  }

  @Test
  void theLastIsrMemberStaysAndThePartitionGoesLeaderless() throws Exception {
    createTopic("solo", List.of(List.of(3), List.of(3, 1)));
    // Partition 1: the ISR shrank to [3] earlier (1 fell behind).
    PartitionImage p1 = partition("solo", 1);
    alter("solo", 1, 3, p1.leaderEpoch(), p1.partitionEpoch(), List.of(3));
    assertThat(partition("solo", 1).isr()).containsExactly(3);

    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    for (int p = 0; p < 2; p++) {
      PartitionImage after = partition("solo", p);
      assertThat(after.leaderId()).as("no unclean election").isEqualTo(-1);
      assertThat(after.isr()).as("who holds the data").containsExactly(3);
      assertThat(after.leaderEpoch()).isEqualTo(1);
    }
    assertThat(step()).isNull();

    // 3's lease expired: its epoch is spent, its heartbeats are refused until it registers again.
    assertThat(image.brokers().get(3).leaseExpired()).isTrue();
    assertThat(heartbeat(3).getErrorCode()).isEqualTo(ErrorCode.STALE_BROKER_EPOCH_VALUE);
    assertThat(step()).isNull();
    assertThat(image.brokers().get(3).fenced()).isTrue();

    // 3 comes back under a new epoch: unfenced, and leaderless partitions whose ISR holds it
    // get it as leader.
    register(3, "");
    heartbeat(3);
    ControllerBatch batch = step();
    assertThat(batch.getBrokers(0).getFenced()).isFalse();
    assertThat(partition("solo", 0).leaderId()).isEqualTo(3);
    assertThat(partition("solo", 0).leaderEpoch()).isEqualTo(2);
    assertThat(partition("solo", 1).leaderId()).isEqualTo(3);
    assertThat(partition("solo", 1).isr()).containsExactly(3);
  }

  @Test
  void uncleanElectionOnlyWhereTheTopicAllowsItAndOnlyWhenNoIsrMemberIsActive() throws Exception {
    String unclean = TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE;
    createTopic("allowed", List.of(List.of(3, 1, 2), List.of(1, 3, 2)), Map.of(unclean, "true"));
    createTopic("clean", List.of(List.of(3, 1, 2)));
    // Both ISRs shrink to [3] (1 and 2 fell behind), then 3 dies.
    for (String t : List.of("allowed", "clean")) {
      PartitionImage p = partition(t, 0);
      alter(t, 0, 3, p.leaderEpoch(), p.partitionEpoch(), List.of(3));
    }
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    ControllerBatch batch = step();
    assertThat(batch.getReason()).contains(ActiveController.UNCLEAN_ELECTION).contains("allowed-0 to 1")
        .doesNotContain("allowed-1").doesNotContain("clean-0");
    assertThat(partition("allowed", 0)).satisfies(p -> {
      assertThat(p.leaderId()).as("first active replica in replica order").isEqualTo(1);
      assertThat(p.isr()).containsExactly(1);
      assertThat(p.leaderEpoch()).isEqualTo(1);
    });
    // Partition 1 still had 1 in its ISR: a clean election, even though the topic allows unclean.
    assertThat(partition("allowed", 1).leaderId()).isEqualTo(1);
    assertThat(partition("allowed", 1).isr()).containsExactly(1, 2);
    assertThat(partition("clean", 0).leaderId()).isEqualTo(-1);
    assertThat(partition("clean", 0).isr()).containsExactly(3);
    assertThat(step()).isNull();

    // 3 returns: it is not put back into the ISR by the controller (its leader adds it once it has
    // truncated to the new leader's history and caught up).
    register(3, "");
    heartbeat(3);
    step();
    assertThat(partition("allowed", 0).leaderId()).isEqualTo(1);
    assertThat(partition("allowed", 0).isr()).containsExactly(1);
    assertThat(partition("clean", 0).leaderId()).isEqualTo(3);
  }

  @Test
  void theClusterDefaultAllowsUncleanElectionUnlessTheTopicOverridesIt() throws Exception {
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS,
        Map.of(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE, "true"), now);
    heartbeatAll(1, 2, 3);
    createTopic("byDefault", List.of(List.of(3, 2)));
    createTopic("optedOut", List.of(List.of(3, 2)), Map.of(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE, "false"));
    for (String t : List.of("byDefault", "optedOut")) {
      PartitionImage p = partition(t, 0);
      alter(t, 0, 3, p.leaderEpoch(), p.partitionEpoch(), List.of(3));
    }
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    assertThat(partition("byDefault", 0).leaderId()).isEqualTo(2);
    assertThat(partition("byDefault", 0).isr()).containsExactly(2);
    assertThat(partition("optedOut", 0).leaderId()).isEqualTo(-1);
  }

  @Test
  void controlledShutdownHandsOverLeadershipFirst() throws Exception {
    createTopic("t", List.of(List.of(2, 1, 3), List.of(1, 2, 3), List.of(2)));
    HeartbeatReply first = heartbeat(2, true);
    assertThat(first.getShutdownReady()).isFalse();
    ControllerBatch batch = step();
    assertThat(batch.getBrokers(0).getShuttingDown()).isTrue();
    assertThat(image.brokers().get(2).shuttingDown()).isTrue();
    assertThat(image.brokers().get(2).fenced()).isFalse();
    assertThat(partition("t", 0).leaderId()).isEqualTo(1);
    assertThat(partition("t", 0).isr()).containsExactly(1, 3);
    assertThat(partition("t", 1).isr()).containsExactly(1, 3);
    assertThat(partition("t", 2).leaderId()).isEqualTo(-1); // its only replica: nobody else has the data
    assertThat(heartbeat(2, true).getShutdownReady()).isTrue();
    // A shutting-down broker may not rejoin an ISR.
    PartitionImage p = partition("t", 0);
    AlterPartitionReply r = alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 3, 2));
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.INELIGIBLE_REPLICA_VALUE);
    // It stops: its lease runs out, it is fenced too.
    advance(SESSION_MS + 1);
    heartbeatAll(1, 3);
    step();
    assertThat(image.brokers().get(2).fenced()).isTrue();
    // It restarts: a new registration clears shutting down; the heartbeat unfences it.
    register(2, "");
    assertThat(image.brokers().get(2).shuttingDown()).isFalse();
    heartbeat(2);
    step();
    assertThat(image.brokers().get(2).isActive()).isTrue();
    assertThat(partition("t", 2).leaderId()).isEqualTo(2);
  }

  @Test
  void preferredLeaderIsRestoredWhenItRejoinsTheIsrAndOnTheImbalanceCheck() throws Exception {
    createTopic("t", List.of(List.of(3, 1, 2), List.of(3, 2, 1)));
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    assertThat(partition("t", 0).leaderId()).isEqualTo(1);
    register(3, "");
    heartbeat(3);
    step();
    assertThat(image.brokers().get(3).fenced()).isFalse();
    assertThat(partition("t", 0).leaderId()).isEqualTo(1); // 3 is not in sync yet

    // 3 caught up on partition 0: its leader adds it to the ISR; the next poll restores it.
    PartitionImage p = partition("t", 0);
    AlterPartitionReply r = alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3));
    assertThat(r.getErrorCode()).isZero();
    assertThat(partition("t", 0).leaderEpoch()).isEqualTo(p.leaderEpoch()); // ISR change only
    step();
    assertThat(partition("t", 0).leaderId()).isEqualTo(3);
    assertThat(partition("t", 0).leaderEpoch()).isEqualTo(p.leaderEpoch() + 1);

    // Partition 1: 3 rejoins its ISR while a new controller takes over, which never saw it
    // missing: the periodic imbalance check restores it.
    p = partition("t", 1);
    alter("t", 1, 2, p.leaderEpoch(), p.partitionEpoch(), List.of(2, 1, 3));
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now);
    heartbeatAll(1, 2, 3);
    assertThat(step()).isNull();
    assertThat(partition("t", 1).leaderId()).isEqualTo(2);
    advance(IMBALANCE_MS);
    heartbeatAll(1, 2, 3);
    step();
    assertThat(partition("t", 1).leaderId()).isEqualTo(3);
  }

  @Test
  void electLeadersAnswersPerPartition() throws Exception {
    createTopic("t", List.of(List.of(3, 1), List.of(1, 3), List.of(3, 2)));
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step(); // 3 fenced: partition 0 led by 1
    register(3, "");
    heartbeat(3);
    step();
    PartitionImage p = partition("t", 0);
    alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 3));
    // (the controller would restore it on its own; the admin call does it first here)
    ElectLeadersResponse r = ElectLeadersResponse.parseFrom(apply(validator.electLeaders(ElectLeadersRequest.newBuilder()
        .addPartitions(TopicPartitions.newBuilder().setTopic("t"))
        .addPartitions(TopicPartitions.newBuilder().setTopic("nope"))
        .build().toByteString())));
    assertThat(r.getResultsList()).extracting(x -> x.getError().getCode()).containsExactly(
        ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(r.getResults(0).getLeaderId()).isEqualTo(3);
    assertThat(r.getResults(0).getLeaderEpoch()).isEqualTo(p.leaderEpoch() + 1);
    assertThat(partition("t", 0).leaderId()).isEqualTo(3);
  }

  @Test
  void aMemberThatRestartedSinceItCaughtUpMayNotJoin() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    PartitionImage p = partition("t", 0);
    alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2)); // 3 dropped out
    p = partition("t", 0);
    long seen = image.brokers().get(3).brokerEpoch();
    register(3, ""); // 3 restarts (maybe losing records) while the leader still counts its old fetches
    heartbeat(3);
    step();
    PartitionAlteration stale = alteration("t", 0, 1, image.brokers().get(1).brokerEpoch(), p.leaderEpoch(),
        p.partitionEpoch(), List.of(1, 2, 3)).toBuilder().putAddedBrokerEpochs(3, seen).build();
    AlterPartitionReply r = AlterPartitionReply.parseFrom(apply(validator.alterPartition(stale, image)));
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.STALE_BROKER_EPOCH_VALUE);
    assertThat(partition("t", 0).isr()).containsExactly(1, 2);

    PartitionAlteration fresh = stale.toBuilder().putAddedBrokerEpochs(3, image.brokers().get(3).brokerEpoch()).build();
    r = AlterPartitionReply.parseFrom(apply(validator.alterPartition(fresh, image)));
    assertThat(r.getErrorCode()).isZero();
    assertThat(partition("t", 0).isr()).containsExactlyInAnyOrder(1, 2, 3);
  }

  @Test
  void epochsOfAnIsrChangeAreJudgedInApplyNotOnTheLeadersPossiblyStaleImage() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    PartitionImage p = partition("t", 0);
    // Validated against an image one partition epoch behind (the validator's node lags), the
    // request is still logged without a verdict, and apply, on the current state, accepts it.
    MetadataImage behind = image;
    alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2));
    PartitionImage now = partition("t", 0);
    PartitionAlteration next = alteration("t", 0, 1, image.brokers().get(1).brokerEpoch(), now.leaderEpoch(),
        now.partitionEpoch(), List.of(1));
    AlterPartitionReply r = AlterPartitionReply.parseFrom(apply(validator.alterPartition(next, behind)));
    assertThat(r.getErrorCode()).isZero();
    assertThat(partition("t", 0).isr()).containsExactly(1);
  }

  @Test
  void alterPartitionChecksEpochsLeadershipAndEligibility() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    long epoch1 = image.brokers().get(1).brokerEpoch();
    PartitionImage p = partition("t", 0);
    assertThat(alter("t", 0, 1, epoch1 - 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2)).getErrorCode())
        .isEqualTo(ErrorCode.STALE_BROKER_EPOCH_VALUE);
    assertThat(alter("t", 0, 1, p.leaderEpoch() + 1, p.partitionEpoch(), List.of(1, 2)).getErrorCode())
        .isEqualTo(ErrorCode.FENCED_LEADER_EPOCH_VALUE);
    assertThat(alter("t", 0, 2, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2)).getErrorCode())
        .isEqualTo(ErrorCode.NOT_LEADER_VALUE);
    assertThat(alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch() + 1, List.of(1, 2)).getErrorCode())
        .isEqualTo(ErrorCode.INVALID_UPDATE_VERSION_VALUE);
    assertThat(alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(2, 4)).getErrorCode())
        .isEqualTo(ErrorCode.INVALID_REQUEST_VALUE);
    assertThat(alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of()).getErrorCode())
        .isEqualTo(ErrorCode.INVALID_REQUEST_VALUE);
    assertThat(alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 4)).getErrorCode())
        .isEqualTo(ErrorCode.INELIGIBLE_REPLICA_VALUE);
    assertThat(alter("nope", 0, 1, 0, 0, List.of(1)).getErrorCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION_VALUE);
    assertThat(alter("nope", 0, 1, 0, 0, List.of(1)).hasPartition()).isFalse();
    assertThat(partition("t", 0)).isEqualTo(p); // no rejection changed anything

    AlterPartitionReply shrink = alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2));
    assertThat(shrink.getErrorCode()).isZero();
    assertThat(shrink.getPartition().getIsrList()).containsExactly(1, 2);
    assertThat(shrink.getPartition().getPartitionEpoch()).isEqualTo(p.partitionEpoch() + 1);
    assertThat(shrink.getPartition().getLeaderEpoch()).isEqualTo(p.leaderEpoch());
    // The same request again is stale now; the reply carries the current state to catch up.
    AlterPartitionReply stale = alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2));
    assertThat(stale.getErrorCode()).isEqualTo(ErrorCode.INVALID_UPDATE_VERSION_VALUE);
    assertThat(stale.getPartition().getPartitionEpoch()).isEqualTo(p.partitionEpoch() + 1);

    // A fenced broker may not join (KIP-841).
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    PartitionImage q = partition("t", 0);
    assertThat(alter("t", 0, 1, q.leaderEpoch(), q.partitionEpoch(), List.of(1, 2, 3)).getErrorCode())
        .isEqualTo(ErrorCode.INELIGIBLE_REPLICA_VALUE);
  }

  @Test
  void aLeaderThatLeavesTheIsrResignsToTheNextActiveInSyncReplica() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    createTopic("u", List.of(List.of(1, 2)));
    PartitionImage p;
    // 2 is fenced: 3 must take over even though 2 comes first in replica order.
    advance(SESSION_MS + 1);
    heartbeatAll(1, 3);
    step();
    p = partition("t", 0);
    assertThat(p.isr()).containsExactly(1, 3);
    AlterPartitionReply r = alter("t", 0, 1, p.leaderEpoch(), p.partitionEpoch(), List.of(3));
    assertThat(r.getErrorCode()).isZero();
    PartitionImage after = partition("t", 0);
    assertThat(after.leaderId()).isEqualTo(3);
    assertThat(after.isr()).containsExactly(3);
    assertThat(after.leaderEpoch()).isEqualTo(p.leaderEpoch() + 1);
    assertThat(after.partitionEpoch()).isEqualTo(p.partitionEpoch() + 1);

    // Nobody active left to take over: refused, nothing changes.
    PartitionImage u = partition("u", 0);
    assertThat(u.isr()).containsExactly(1);
    assertThat(alter("u", 0, 1, u.leaderEpoch(), u.partitionEpoch(), List.of(2)).getErrorCode())
        .isEqualTo(ErrorCode.INVALID_REQUEST_VALUE);
    assertThat(partition("u", 0)).isEqualTo(u);
  }

  @Test
  void applyRechecksAnIsrChangeValidatedAgainstAnOlderImage() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    PartitionImage p = partition("t", 0);
    MetadataImage before = image;
    MetadataCommand expand = validator.alterPartition(alteration("t", 0, 1, image.brokers().get(1).brokerEpoch(),
        p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3)), before);
    // Meanwhile the controller moved the partition on (3's lease expired).
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    AlterPartitionReply r = AlterPartitionReply.parseFrom(apply(expand));
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.INVALID_UPDATE_VERSION_VALUE);
    assertThat(partition("t", 0).isr()).containsExactly(1, 2);
  }

  @Test
  void aNewLeaderGivesEveryBrokerAFullSession() throws Exception {
    createTopic("t", List.of(List.of(1, 2, 3)));
    // A new Raft leader takes over long after the last heartbeat the old one saw.
    advance(10 * SESSION_MS);
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now);
    advance(SESSION_MS - 1);
    heartbeatAll(1, 2);
    assertThat(step()).isNull();
    advance(2);
    ControllerBatch batch = step();
    assertThat(batch.getBrokersList()).singleElement().satisfies(c -> assertThat(c.getNodeId()).isEqualTo(3));
    assertThat(controller.heartbeatAges(now)).containsOnlyKeys(1, 2);
  }

  /** A follower's standby record that heard copies of the brokers' heartbeats at {@code ms}, per broker. */
  private BrokerHeartbeatManager standbyHeard(long listeningSinceMs, Map<Integer, Long> heardAtMs) {
    BrokerHeartbeatManager standby = ActiveController.newStandby(SESSION_MS, listeningSinceMs);
    java.util.TreeMap<Long, List<Integer>> byTime = new java.util.TreeMap<>();
    heardAtMs.forEach((id, at) -> byTime.computeIfAbsent(at, k -> new java.util.ArrayList<>()).add(id));
    for (long t = listeningSinceMs; t <= now; t += QuorumController.TICK_MS) {
      standby.observe(t);
      for (List<Integer> ids : byTime.subMap(t - QuorumController.TICK_MS, false, t, true).values()) {
        for (int id : ids) standby.touch(id, image.brokers().get(id).brokerEpoch(), false, heardAtMs.get(id));
      }
    }
    standby.observe(now);
    return standby;
  }

  @Test
  void aNewLeaderCountsASessionFromTheLastCopyItHeardAsAFollower() throws Exception {
    createTopic("t", List.of(List.of(3, 1, 2)));
    long since = now;
    advance(2 * SESSION_MS);
    // Broker 3 died (with the old Raft leader) 300 ms before this node won the election; 1 and 2
    // were heard a moment ago.
    BrokerHeartbeatManager standby = standbyHeard(since, Map.of(1, now - 50, 2, now - 50, 3, now - 300));
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now, standby);
    long start = now;
    assertThat(controller.nextLeaseExpiryMs(image)).isEqualTo(start - 300 + SESSION_MS + 1);
    advance(SESSION_MS - 300);
    heartbeatAll(1, 2);
    assertThat(step()).isNull();
    advance(1);
    ControllerBatch batch = step();
    assertThat(batch.getBrokersList()).singleElement().satisfies(c -> {
      assertThat(c.getNodeId()).isEqualTo(3);
      assertThat(c.getLeaseExpired()).isTrue();
    });
    assertThat(partition("t", 0).leaderId()).isEqualTo(1);
    // Seeds are no contacts: only the brokers heard by this leader have ages.
    assertThat(controller.heartbeatAges(now)).containsOnlyKeys(1, 2);
  }

  @Test
  void aBrokerWithoutACopyOrWithAnotherEpochGetsAFullSession() throws Exception {
    long since = now;
    for (int i = 0; i < 8; i++) {
      advance(SESSION_MS / 4);
      heartbeatAll(1, 2, 3); // the old leader still hears everyone
    }
    BrokerHeartbeatManager standby = standbyHeard(since, Map.of(1, now - 50, 2, now - 900));
    // Broker 2 registered again since that copy: the copy names an epoch that is gone.
    register(2, "");
    heartbeat(2);
    step();
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now, standby);
    advance(SESSION_MS - 50);
    heartbeatAll(1);
    assertThat(step()).isNull();
    advance(51);
    ControllerBatch batch = step();
    assertThat(batch.getBrokersList()).extracting(c -> c.getNodeId()).containsExactlyInAnyOrder(2, 3);
  }

  @Test
  void aSeedNeverUnfencesNorOutlivesAPause() throws Exception {
    long since = now;
    advance(2 * SESSION_MS);
    // Broker 3 is fenced (its lease ran out); a copy of a heartbeat with its epoch arrived anyway.
    controller.observe(now);
    heartbeatAll(1, 2);
    ControllerBatch fenced = step();
    assertThat(fenced.getBrokersList()).singleElement().satisfies(c -> assertThat(c.getNodeId()).isEqualTo(3));
    BrokerHeartbeatManager standby = standbyHeard(since, Map.of(1, now - 10, 2, now - 10, 3, now - 10));
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now, standby);
    assertThat(step()).isNull();
    assertThat(image.brokers().get(3).fenced()).isTrue();
    // The new leader is paused right away: sessions count afresh from its return, seeds are gone.
    now += 3 * SESSION_MS;
    assertThat(step()).isNull();
    advance(SESSION_MS);
    assertThat(step()).isNull();
    advance(1);
    assertThat(step().getBrokersList()).extracting(c -> c.getNodeId()).containsExactlyInAnyOrder(1, 2);
  }

  @Test
  void copiesHeardBeforeAPauseOfTheFollowerCountFromTheEndOfThePause() throws Exception {
    long since = now;
    advance(2 * SESSION_MS);
    BrokerHeartbeatManager standby = standbyHeard(since, Map.of(1, now - 900, 2, now - 900, 3, now - 900));
    // The follower does not run for two sessions, and wins the election the moment it is back.
    now += 2 * SESSION_MS;
    standby.observe(now);
    controller = new ActiveController(SESSION_MS, IMBALANCE_MS, Map.of(), now, standby);
    advance(SESSION_MS);
    assertThat(step()).isNull();
    advance(1);
    assertThat(step().getBrokersList()).hasSize(3);
  }

  @Test
  void staleEpochHeartbeatIsRefusedAndReRegistrationFencesTheOldIncarnation() throws Exception {
    createTopic("t", List.of(List.of(2, 1)));
    long old = image.brokers().get(2).brokerEpoch();
    long fresh = register(2, "");
    assertThat(fresh).isGreaterThan(old);
    // The registration itself hands the leadership over (same entry).
    assertThat(partition("t", 0).leaderId()).isEqualTo(1);
    assertThat(partition("t", 0).isr()).containsExactly(1);
    HeartbeatReply r = controller.heartbeat(image, 2, old, false, now);
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.STALE_BROKER_EPOCH_VALUE);
    assertThat(controller.heartbeat(image, 9, 1, false, now).getErrorCode()).isEqualTo(ErrorCode.STALE_BROKER_EPOCH_VALUE);
    assertThat(image.brokers().get(2).fenced()).isTrue();
    assertThat(controller.heartbeat(image, 2, fresh, false, now).getErrorCode()).isZero();
    step();
    assertThat(image.brokers().get(2).fenced()).isFalse();
  }

  @Test
  void aDecisionSkippedInApplyIsDecidedAgain() throws Exception {
    createTopic("t", List.of(List.of(3, 1, 2)));
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    ControllerBatch batch = controller.poll(image, now);
    // An ISR change lands first: the batch's partition change no longer applies.
    PartitionImage p = partition("t", 0);
    alter("t", 0, 3, p.leaderEpoch(), p.partitionEpoch(), List.of(3, 1));
    apply(validator.controllerBatch(batch));
    assertThat(image.brokers().get(3).fenced()).isTrue();
    assertThat(partition("t", 0).leaderId()).isEqualTo(3); // skipped
    step();
    assertThat(partition("t", 0).leaderId()).isEqualTo(1);
    assertThat(partition("t", 0).isr()).containsExactly(1);
  }

  @Test
  void placementUsesActiveBrokersOnly() throws Exception {
    advance(SESSION_MS + 1);
    heartbeatAll(1, 2);
    step();
    CreateTopicsResponse r = CreateTopicsResponse.parseFrom(apply(validator.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName("a").setPartitions(4).setReplicationFactor(2))
        .addTopics(NewTopic.newBuilder().setName("b").setPartitions(1).setReplicationFactor(3)).build(), image)));
    assertThat(r.getTopicsList()).extracting(x -> x.getError().getCode())
        .containsExactly(ErrorCode.NONE, ErrorCode.INVALID_REPLICATION_FACTOR);
    assertThat(image.topic("a").partitions()).allSatisfy(p -> assertThat(p.replicas()).containsExactlyInAnyOrder(1, 2));
  }

  private AlterPartitionReply alter(String topic, int partition, int leader, int leaderEpoch, int partitionEpoch,
      List<Integer> isr) throws Exception {
    BrokerImage b = image.brokers().get(leader);
    return alter(topic, partition, leader, b == null ? -1 : b.brokerEpoch(), leaderEpoch, partitionEpoch, isr);
  }

  private AlterPartitionReply alter(String topic, int partition, int leader, long brokerEpoch, int leaderEpoch,
      int partitionEpoch, List<Integer> isr) throws Exception {
    return AlterPartitionReply.parseFrom(apply(validator.alterPartition(
        alteration(topic, partition, leader, brokerEpoch, leaderEpoch, partitionEpoch, isr), image)));
  }

  private static PartitionAlteration alteration(String topic, int partition, int leader, long brokerEpoch, int leaderEpoch,
      int partitionEpoch, List<Integer> isr) {
    return PartitionAlteration.newBuilder().setTopic(topic).setPartition(partition).setLeaderId(leader)
        .setLeaderBrokerEpoch(brokerEpoch).setLeaderEpoch(leaderEpoch).setPartitionEpoch(partitionEpoch)
        .addAllNewIsr(isr).build();
  }


  @Test
  void aPauseOfTheControllerItselfFencesNobody() throws Exception {
    heartbeatAll(1, 2, 3);
    // The controller does not run for three sessions (SIGSTOP, a host pause): heartbeats went unheard.
    now += 3 * SESSION_MS;
    assertThat(step()).isNull();
    // From its return, a broker that stays silent loses its lease after a whole session.
    advance(SESSION_MS / 2);
    heartbeatAll(1, 2);
    advance(SESSION_MS / 2 + 1);
    ControllerBatch b = step();
    assertThat(b.getBrokersList()).singleElement().satisfies(c -> {
      assertThat(c.getNodeId()).isEqualTo(3);
      assertThat(c.getLeaseExpired()).isTrue();
    });
  }

  /** Brings broker {@code id} back after its lease expired: a new registration, then a heartbeat and a poll. */
  private ControllerBatch comeBack(int id) throws Exception {
    register(id, "");
    heartbeat(id);
    return step();
  }

  @Test
  void replicasThatLeaveTheIsrBelowMinIsrStayEligibleToLead() throws Exception {
    createTopic("t", List.of(List.of(3, 1, 2)), Map.of(TopicConfig.MIN_INSYNC_REPLICAS, "2"));
    // 1 dies: the ISR keeps min.insync.replicas members, so 1 is simply out (the high watermark may move on).
    advance(SESSION_MS + 1);
    heartbeatAll(2, 3);
    step();
    assertThat(partition("t", 0).isr()).containsExactly(3, 2);
    assertThat(partition("t", 0).eligibleLeaderReplicas()).isEmpty();
    // 2 dies: the ISR falls below min.insync.replicas, 2 enters the ELR (1 missed what came since).
    advance(SESSION_MS + 1);
    heartbeatAll(3);
    step();
    assertThat(partition("t", 0).isr()).containsExactly(3);
    assertThat(partition("t", 0).eligibleLeaderReplicas()).containsExactly(2);
    // 3 dies: the ISR keeps its last member, nobody leads; 3 is the ISR, 2 the ELR.
    advance(SESSION_MS + 1);
    step();
    assertThat(partition("t", 0).leaderId()).isEqualTo(-1);
    assertThat(partition("t", 0).isr()).containsExactly(3);
    // 1 comes back first: neither in the ISR nor the ELR, it may not lead.
    comeBack(1);
    assertThat(partition("t", 0).leaderId()).isEqualTo(-1);
    // 2 comes back: elected from the ELR, cleanly; 3 moves to the ELR.
    ControllerBatch batch = comeBack(2);
    assertThat(batch.getReason()).doesNotContain(ActiveController.UNCLEAN_ELECTION);
    assertThat(partition("t", 0)).satisfies(p -> {
      assertThat(p.leaderId()).isEqualTo(2);
      assertThat(p.isr()).containsExactly(2);
      assertThat(p.eligibleLeaderReplicas()).containsExactly(3);
    });
    assertThat(step()).isNull();
    // 1 caught up and joins: the ISR has the topic's min.insync.replicas members again, the ELR empties.
    PartitionImage p = partition("t", 0);
    heartbeatAll(1, 2);
    assertThat(alter("t", 0, 2, p.leaderEpoch(), p.partitionEpoch(), List.of(2, 1)).getErrorCode()).isZero();
    assertThat(partition("t", 0).isr()).containsExactly(2, 1);
    assertThat(partition("t", 0).eligibleLeaderReplicas()).isEmpty();
    assertThat(step()).isNull();
  }

  @Test
  void aLeaderMissingCommittedRecordsHandsOverToAnEligibleLeaderReplica() throws Exception {
    // The long fault run's stuck partition: every broker fenced at once (a paused controller), the
    // first back is a replica whose log was cut to repair damage.
    createTopic("t", List.of(List.of(3, 1, 2)), Map.of(TopicConfig.MIN_INSYNC_REPLICAS, "2"));
    advance(SESSION_MS + 1);
    step();
    assertThat(partition("t", 0).leaderId()).isEqualTo(-1);
    assertThat(partition("t", 0).isr()).containsExactly(3, 1, 2);
    comeBack(2);
    assertThat(partition("t", 0)).satisfies(p -> {
      assertThat(p.leaderId()).isEqualTo(2);
      assertThat(p.isr()).containsExactly(2);
      assertThat(p.eligibleLeaderReplicas()).as("they hold every committed record").containsExactly(3, 1);
    });
    // 2 cannot serve and resigns; nobody in the ELR is active yet: refused, nothing changes.
    PartitionImage p = partition("t", 0);
    assertThat(alter("t", 0, 2, p.leaderEpoch(), p.partitionEpoch(), List.of(3)).getErrorCode())
        .isEqualTo(ErrorCode.INELIGIBLE_REPLICA_VALUE);
    assertThat(partition("t", 0)).isEqualTo(p);
    // 3 is back: the resignation hands over to it, and 2 is in neither the ISR nor the ELR.
    comeBack(3);
    heartbeat(2);
    PartitionImage before = partition("t", 0);
    assertThat(alter("t", 0, 2, before.leaderEpoch(), before.partitionEpoch(), List.of(3)).getErrorCode()).isZero();
    assertThat(partition("t", 0)).satisfies(q -> {
      assertThat(q.leaderId()).isEqualTo(3);
      assertThat(q.leaderEpoch()).isEqualTo(before.leaderEpoch() + 1);
      assertThat(q.isr()).containsExactly(3);
      assertThat(q.eligibleLeaderReplicas()).containsExactly(1);
    });
    // A resignation may not name a replica that is in neither.
    PartitionImage r = partition("t", 0);
    assertThat(alter("t", 0, 3, r.leaderEpoch(), r.partitionEpoch(), List.of(2)).getErrorCode())
        .isEqualTo(ErrorCode.INVALID_REQUEST_VALUE);
  }

  @Test
  void aRegistrationPutsTheLeaverInTheElrAndTheControllerClearsWhatMinIsrDoesNotNeed() throws Exception {
    // The topic does not set min.insync.replicas, so apply does not know it.
    createTopic("t", List.of(List.of(2, 1, 3)));
    register(2, "");
    // Apply does not know the brokers' min.insync.replicas default: the leaver enters the ELR.
    assertThat(partition("t", 0).isr()).containsExactly(1, 3);
    assertThat(partition("t", 0).eligibleLeaderReplicas()).containsExactly(2);
    // The controller does (1 here): two members are plenty, the ELR empties.
    heartbeatAll(1, 3);
    step();
    assertThat(partition("t", 0).eligibleLeaderReplicas()).isEmpty();
    assertThat(partition("t", 0).isr()).containsExactly(1, 3);
  }
}
