package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.quorum.GroupStateClient.CommittedOffset;
import dev.brook.quorum.GroupStateClient.DurableGroup;
import dev.brook.quorum.GroupStateClient.DurableMember;
import dev.brook.quorum.GroupStateClient.GroupWrite;
import dev.brook.quorum.GroupStateClient.OffsetCommit;
import dev.brook.quorum.GroupStateClient.OffsetCommitResult;
import dev.brook.quorum.raft.CallWindow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The group domain through the public client on a real single-voter quorum, across a restart. */
@Timeout(120)
class GroupStateQuorumTest {
  @TempDir
  Path dataDir;

  private MetadataQuorum quorum;

  @AfterEach
  void close() {
    if (quorum != null) quorum.close();
  }

  private QuorumConfig config() {
    return QuorumConfig.builder().nodeId(1).quorumAddress("127.0.0.1:0").dataDir(dataDir)
        .requestTimeoutMs(10_000).brokerSessionTimeoutMs(60_000).build();
  }

  @Test
  void groupsAndOffsetsAreDurableAndOnlyTheCoordinatorWrites() throws Exception {
    quorum = MetadataQuorum.start(config());
    MetadataClient client = quorum.client();
    long epoch = QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName("t").setPartitions(2).setReplicationFactor(1)).build()).get(10, TimeUnit.SECONDS);
    assertThat(GroupPlacement.coordinator("g", client.image())).isEqualTo(1);
    GroupStateClient groups = client.groups();

    DurableGroup empty = groups.fetchGroup("g").get(10, TimeUnit.SECONDS);
    assertThat(empty.version()).isZero();
    assertThat(empty.members()).isEmpty();

    long v1 = groups.writeGroup(new GroupWrite("g", 1, epoch, 0, ByteString.copyFromUtf8("state-1"),
        List.of(new DurableMember("m1", 3, ByteString.copyFromUtf8("member"))), List.of(), false)).get(10, TimeUnit.SECONDS);
    assertThat(v1).isPositive();

    // A writer with a stale broker epoch, and a write decided on an old version, are refused.
    assertThatThrownBy(() -> groups.writeGroup(new GroupWrite("g", 1, epoch - 1, v1, null, List.of(), List.of("m1"), false))
        .get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(QuorumException.class)
        .satisfies(e -> assertThat(((QuorumException) e.getCause()).code()).isEqualTo(ErrorCode.NOT_COORDINATOR));
    assertThatThrownBy(() -> groups.writeGroup(new GroupWrite("g", 1, epoch, 0, null, List.of(), List.of(), false))
        .get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(((QuorumException) e.getCause()).code()).isEqualTo(ErrorCode.INVALID_UPDATE_VERSION));
    assertThatThrownBy(() -> groups.fetchGroup("bad\0id").get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(((QuorumException) e.getCause()).code()).isEqualTo(ErrorCode.INVALID_GROUP_ID));

    List<OffsetCommitResult> results = groups.commitOffsets(1, epoch, List.of(
        new OffsetCommit("g", "m1", 3, List.of(new CommittedOffset("t", 0, 42, 0, "md", 0),
            new CommittedOffset("t", 5, 1, 0, "", 0))),
        new OffsetCommit("g", "m1", 2, List.of(new CommittedOffset("t", 1, 7, 0, "", 0))))).get(10, TimeUnit.SECONDS);
    assertThat(results).extracting(OffsetCommitResult::error).containsExactly(ErrorCode.NONE, ErrorCode.STALE_MEMBER_EPOCH);
    assertThat(results.get(0).partitionErrors()).containsEntry(new GroupStateClient.OffsetKey("t", 5),
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // Everything survives a restart of the node.
    quorum.close();
    quorum = null;
    quorum = MetadataQuorum.start(config());
    GroupStateClient after = quorum.client().groups();
    DurableGroup g = after.fetchGroup("g").get(10, TimeUnit.SECONDS);
    assertThat(g.version()).isEqualTo(v1);
    assertThat(g.data().toStringUtf8()).isEqualTo("state-1");
    assertThat(g.members()).containsExactly(new DurableMember("m1", 3, ByteString.copyFromUtf8("member")));
    assertThat(after.listGroups().get(10, TimeUnit.SECONDS))
        .containsExactly(new GroupStateClient.GroupSummary("g", 1, v1));
    List<CommittedOffset> offsets = after.fetchOffsets("g", List.of()).get(10, TimeUnit.SECONDS);
    assertThat(offsets).singleElement().satisfies(o -> {
      assertThat(o.topic()).isEqualTo("t");
      assertThat(o.partition()).isZero();
      assertThat(o.offset()).isEqualTo(42);
      assertThat(o.metadata()).isEqualTo("md");
      assertThat(o.commitTimestampMs()).isPositive();
    });
  }

  @Test
  void manyMoreConcurrentWritesThanTheRatisClientAdmitsAllCompleteEvenWhenEachStartsTheNext() throws Exception {
    // 1,000 groups once stopped every quorum call of a node for good: a write's continuation sent
    // the group's next write from the Ratis reply thread, which then waited for a permit only that
    // thread could give back (more than 100 outstanding). See CallWindow.
    quorum = MetadataQuorum.start(config());
    MetadataClient client = quorum.client();
    long epoch = QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    GroupStateClient groups = client.groups();
    int count = 3 * CallWindow.RATIS_OUTSTANDING_MAX;
    List<CompletableFuture<DurableGroup>> chains = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String id = "g-" + i;
      chains.add(groups.writeGroup(new GroupWrite(id, 1, epoch, 0, ByteString.copyFromUtf8("first"), List.of(), List.of(), false))
          .thenCompose(v -> groups.writeGroup(new GroupWrite(id, 1, epoch, v, ByteString.copyFromUtf8("second"), List.of(), List.of(),
              false)))
          .thenCompose(v -> groups.fetchGroup(id)));
    }
    for (CompletableFuture<DurableGroup> chain : chains) {
      assertThat(chain.get(60, TimeUnit.SECONDS).data().toStringUtf8()).isEqualTo("second");
    }
    assertThat(groups.listGroups().get(10, TimeUnit.SECONDS)).hasSize(count);
  }

  @Test
  void withoutAnActiveBrokerNobodyCoordinates() throws Exception {
    quorum = MetadataQuorum.start(config());
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> quorum.client().groups()
        .writeGroup(new GroupWrite("g", 1, 1, 0, null, List.of(), List.of(), false)).get(10, TimeUnit.SECONDS));
    assertThat(((QuorumException) e.getCause()).code()).isEqualTo(ErrorCode.NOT_COORDINATOR);
    assertThat(e.getCause()).hasMessageContaining("no broker is active");
  }

  @Test
  void aDeletedTopicsOffsetsAreDroppedFromTheStoreAndATopicCreatedAgainStartsWithout() throws Exception {
    quorum = MetadataQuorum.start(config());
    MetadataClient client = quorum.client();
    long epoch = QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName("t").setPartitions(2).setReplicationFactor(1))
        .addTopics(NewTopic.newBuilder().setName("tt").setPartitions(1).setReplicationFactor(1)).build()).get(10, TimeUnit.SECONDS);
    GroupStateClient groups = client.groups();
    assertThat(groups.commitOffsets(1, epoch, List.of(
        new OffsetCommit("g", "", -1, List.of(new CommittedOffset("t", 0, 5, 0, "", 0), new CommittedOffset("t", 1, 6, 0, "", 0),
            new CommittedOffset("tt", 0, 7, 0, "", 0))),
        new OffsetCommit("only-t", "", -1, List.of(new CommittedOffset("t", 1, 8, 0, "", 0))))).get(10, TimeUnit.SECONDS))
        .extracting(OffsetCommitResult::error).containsExactly(ErrorCode.NONE, ErrorCode.NONE);

    client.deleteTopics(dev.brook.proto.v1.DeleteTopicsRequest.newBuilder().addNames("t").build()).get(10, TimeUnit.SECONDS);
    assertThat(groups.fetchOffsets("g", List.of()).get(10, TimeUnit.SECONDS)).extracting(CommittedOffset::topic)
        .containsExactly("tt");
    assertThat(groups.listGroups().get(10, TimeUnit.SECONDS)).extracting(GroupStateClient.GroupSummary::groupId)
        .containsExactly("g");

    // Gone from the store too: a restart loads what the store holds.
    quorum.close();
    quorum = null;
    quorum = MetadataQuorum.start(config());
    client = quorum.client();
    QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName("t").setPartitions(2).setReplicationFactor(1)).build()).get(10, TimeUnit.SECONDS);
    assertThat(client.groups().listGroups().get(10, TimeUnit.SECONDS)).extracting(GroupStateClient.GroupSummary::groupId)
        .containsExactly("g");
    assertThat(client.groups().fetchOffsets("g", List.of()).get(10, TimeUnit.SECONDS))
        .extracting(CommittedOffset::topic, CommittedOffset::offset).containsExactly(org.assertj.core.groups.Tuple.tuple("tt", 7L));
  }
}
