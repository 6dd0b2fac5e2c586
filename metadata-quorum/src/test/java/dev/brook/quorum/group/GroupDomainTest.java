package dev.brook.quorum.group;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.GroupPlacement;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.CommittedOffsetRecord;
import dev.brook.quorum.proto.FetchGroupReply;
import dev.brook.quorum.proto.FetchGroupRequest;
import dev.brook.quorum.proto.FetchOffsetsReply;
import dev.brook.quorum.proto.FetchOffsetsRequest;
import dev.brook.quorum.proto.GroupCommitResult;
import dev.brook.quorum.proto.GroupOffsetCommit;
import dev.brook.quorum.proto.GroupWrite;
import dev.brook.quorum.proto.GroupWriteReply;
import dev.brook.quorum.proto.GroupWriter;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.OffsetCommitBatch;
import dev.brook.quorum.proto.OffsetCommitReply;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.StoredMember;
import dev.brook.quorum.raft.QuorumDomain;
import dev.brook.quorum.raft.StoreWriter;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The group domain's checks and state, without Raft: commands applied in order to a map store. */
@Timeout(10)
class GroupDomainTest {
  private static final String GROUP = "orders";
  private final AtomicReference<MetadataImage> cluster = new AtomicReference<>(image(false, "t-id-1"));
  private final GroupDomain domain = new GroupDomain(cluster::get, () -> 1234L);
  private final MapStore store = new MapStore();
  private long index = 100;

  /** Brokers 1..3 active (one fenced on request), topic "t" with 2 partitions and the given id. */
  private static MetadataImage image(boolean fenceCoordinator, String topicId) {
    int coordinator = GroupPlacement.coordinator(GROUP, MetadataImage.of(1, "c", List.of(), List.of(
        new BrokerImage(1, "h:1", "", false, 11, false), new BrokerImage(2, "h:2", "", false, 12, false),
        new BrokerImage(3, "h:3", "", false, 13, false))));
    List<BrokerImage> brokers = List.of(
        new BrokerImage(1, "h:1", "", fenceCoordinator && coordinator == 1, 11, false),
        new BrokerImage(2, "h:2", "", fenceCoordinator && coordinator == 2, 12, false),
        new BrokerImage(3, "h:3", "", fenceCoordinator && coordinator == 3, 13, false));
    TopicImage t = new TopicImage("t", topicId, Map.of(), List.of(
        new PartitionImage(0, 1, 0, List.of(1), List.of(1), 0), new PartitionImage(1, 1, 0, List.of(1), List.of(1), 0)));
    return MetadataImage.of(1, "c", List.of(t), brokers);
  }

  private int coordinator() {
    return GroupPlacement.coordinator(GROUP, cluster.get());
  }

  private static GroupWriter writer(int broker) {
    return GroupWriter.newBuilder().setBrokerId(broker).setBrokerEpoch(10 + broker).build();
  }

  private static StoredMember member(String id, int epoch) {
    return StoredMember.newBuilder().setMemberId(id).setMemberEpoch(epoch).setData(ByteString.copyFromUtf8("m-" + id)).build();
  }

  private GroupWriteReply write(GroupWrite.Builder w) throws Exception {
    MetadataCommand cmd = domain.validate(QuorumRequest.newBuilder().setGroupWrite(w).build());
    QuorumDomain.Applied a = domain.apply(cmd, ++index, store);
    a.publish().run();
    return GroupWriteReply.parseFrom(a.reply());
  }

  private GroupCommitResult commit(int broker, String memberId, int epoch, String topic, int partition, long offset)
      throws Exception {
    OffsetCommitBatch b = OffsetCommitBatch.newBuilder().setWriter(writer(broker))
        .addCommits(GroupOffsetCommit.newBuilder().setGroupId(GROUP).setMemberId(memberId).setMemberEpoch(epoch)
            .addOffsets(CommittedOffsetRecord.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)
                .setLeaderEpoch(3).setMetadata("md")))
        .build();
    MetadataCommand cmd = domain.validate(QuorumRequest.newBuilder().setCommitOffsets(b).build());
    assertThat(cmd.getCommitOffsets().getTimestampMs()).isEqualTo(1234L); // stamped by the leader
    QuorumDomain.Applied a = domain.apply(cmd, ++index, store);
    a.publish().run();
    return OffsetCommitReply.parseFrom(a.reply()).getGroups(0);
  }

  private FetchOffsetsReply offsets() throws Exception {
    return (FetchOffsetsReply) domain.query(QuorumRequest.newBuilder()
        .setFetchOffsets(FetchOffsetsRequest.newBuilder().setGroupId(GROUP)).build()).get();
  }

  private FetchGroupReply group(GroupDomain d) throws Exception {
    return (FetchGroupReply) d.query(QuorumRequest.newBuilder()
        .setFetchGroup(FetchGroupRequest.newBuilder().setGroupId(GROUP)).build()).get();
  }

  private GroupWrite.Builder joinA(long expectedVersion) {
    return GroupWrite.newBuilder().setGroupId(GROUP).setWriter(writer(coordinator())).setExpectedVersion(expectedVersion)
        .setGroupData(ByteString.copyFromUtf8("epoch-1")).addMemberPuts(member("a", 1));
  }

  @Test
  void theCoordinatorWritesAndEveryReaderSeesTheNewVersion() throws Exception {
    GroupWriteReply r = write(joinA(0));
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    assertThat(r.getVersion()).isEqualTo(index);
    FetchGroupReply g = group(domain);
    assertThat(g.getGroup().getVersion()).isEqualTo(index);
    assertThat(g.getGroup().getGroupData().toStringUtf8()).isEqualTo("epoch-1");
    assertThat(g.getGroup().getMembersList()).extracting(StoredMember::getMemberId).containsExactly("a");

    // A later write keeps the group data when it names none, removes before it puts.
    long v = r.getVersion();
    GroupWriteReply r2 = write(GroupWrite.newBuilder().setGroupId(GROUP).setWriter(writer(coordinator())).setExpectedVersion(v)
        .addMemberRemovals("a").addMemberPuts(member("b", 2)));
    assertThat(r2.getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    assertThat(group(domain).getGroup().getGroupData().toStringUtf8()).isEqualTo("epoch-1");
    assertThat(group(domain).getGroup().getMembersList()).extracting(StoredMember::getMemberId).containsExactly("b");
  }

  @Test
  void anotherBrokerOrAStaleBrokerEpochCannotWrite() throws Exception {
    int other = coordinator() % 3 + 1;
    GroupWriteReply r = write(joinA(0).setWriter(writer(other)));
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.NOT_COORDINATOR_VALUE);
    assertThat(r.getErrorMessage()).contains("broker " + coordinator() + " is");
    GroupWriteReply stale = write(joinA(0).setWriter(writer(coordinator()).toBuilder().setBrokerEpoch(1)));
    assertThat(stale.getErrorCode()).isEqualTo(ErrorCode.NOT_COORDINATOR_VALUE);
    assertThat(stale.getErrorMessage()).contains("broker epoch 1");
    assertThat(group(domain).hasGroup()).isFalse();
  }

  @Test
  void aWriteDecidedOnAnOlderVersionIsRefused() throws Exception {
    long v = write(joinA(0)).getVersion();
    GroupWriteReply late = write(joinA(0)); // a second writer that did not see the first write
    assertThat(late.getErrorCode()).isEqualTo(ErrorCode.INVALID_UPDATE_VERSION_VALUE);
    assertThat(late.getVersion()).isEqualTo(v);
  }

  @Test
  void whenTheCoordinatorIsFencedOnlyTheNextOneWrites() throws Exception {
    int old = coordinator();
    long v = write(joinA(0)).getVersion();
    cluster.set(image(true, "t-id-1"));
    int next = coordinator();
    assertThat(next).isNotEqualTo(old);
    assertThat(write(joinA(v).setWriter(writer(old))).getErrorCode()).isEqualTo(ErrorCode.NOT_COORDINATOR_VALUE);
    assertThat(commit(old, "a", 1, "t", 0, 5).getErrorCode()).isEqualTo(ErrorCode.NOT_COORDINATOR_VALUE);
    assertThat(write(joinA(v).setWriter(writer(next))).getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
  }

  @Test
  void commitsAreFencedByTheDurableMemberEpoch() throws Exception {
    write(joinA(0).clearMemberPuts().addMemberPuts(member("a", 5)));
    int c = coordinator();
    assertThat(commit(c, "a", 5, "t", 0, 42).getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    assertThat(commit(c, "a", 4, "t", 0, 99).getErrorCode()).isEqualTo(ErrorCode.STALE_MEMBER_EPOCH_VALUE);
    assertThat(commit(c, "a", 6, "t", 0, 99).getErrorCode()).isEqualTo(ErrorCode.FENCED_MEMBER_EPOCH_VALUE);
    assertThat(commit(c, "zombie", 5, "t", 0, 99).getErrorCode()).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID_VALUE);
    assertThat(commit(c, "", -1, "t", 0, 99).getErrorCode()).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID_VALUE);

    FetchOffsetsReply o = offsets();
    assertThat(o.getOffsetsList()).hasSize(1);
    CommittedOffsetRecord r = o.getOffsets(0);
    assertThat(r.getOffset()).isEqualTo(42);
    assertThat(r.getTopicId()).isEqualTo("t-id-1");
    assertThat(r.getLeaderEpoch()).isEqualTo(3);
    assertThat(r.getCommitTimestampMs()).isEqualTo(1234L);
  }

  @Test
  void aGroupWithoutMembersCommitsAsNoMemberAndUnknownPartitionsAreRefusedAlone() throws Exception {
    int c = coordinator();
    GroupCommitResult r = commit(c, "", -1, "t", 1, 7);
    assertThat(r.getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    GroupCommitResult bad = commit(c, "", -1, "t", 2, 7);
    assertThat(bad.getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    assertThat(bad.getPartitionsList()).singleElement()
        .satisfies(p -> assertThat(p.getErrorCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION_VALUE));
    assertThat(offsets().getOffsetsList()).extracting(CommittedOffsetRecord::getPartition).containsExactly(1);
  }

  @Test
  void anOffsetOfADeletedAndRecreatedTopicIsNotReturned() throws Exception {
    commit(coordinator(), "", -1, "t", 0, 7);
    assertThat(offsets().getOffsetsList()).hasSize(1);
    cluster.set(image(false, "t-id-2"));
    assertThat(offsets().getOffsetsList()).isEmpty();
  }

  @Test
  void onlyAGroupWithoutMembersIsDeletedAndItsOffsetsGoWithIt() throws Exception {
    long v = write(joinA(0)).getVersion();
    commit(coordinator(), "a", 1, "t", 0, 9);
    GroupWriteReply refused = write(GroupWrite.newBuilder().setGroupId(GROUP).setWriter(writer(coordinator()))
        .setExpectedVersion(v).setDeleteGroup(true));
    assertThat(refused.getErrorCode()).isEqualTo(ErrorCode.NON_EMPTY_GROUP_VALUE);
    GroupWriteReply deleted = write(GroupWrite.newBuilder().setGroupId(GROUP).setWriter(writer(coordinator()))
        .setExpectedVersion(v).addMemberRemovals("a").setDeleteGroup(true));
    assertThat(deleted.getErrorCode()).isEqualTo(ErrorCode.NONE_VALUE);
    assertThat(group(domain).hasGroup()).isFalse();
    assertThat(offsets().getOffsetsList()).isEmpty();
    assertThat(store.families.get(GroupKeys.OFFSETS)).isEmpty();
    assertThat(store.families.get(GroupKeys.GROUPS)).isEmpty();
  }

  @Test
  void aReloadFromTheStoreRestoresGroupsAndOffsets() throws Exception {
    write(joinA(0));
    commit(coordinator(), "a", 1, "t", 0, 11);
    commit(coordinator(), "a", 1, "t", 1, 12);
    GroupDomain reloaded = new GroupDomain(cluster::get, () -> 0L);
    reloaded.load(store, index, index);
    assertThat(group(reloaded)).isEqualTo(group(domain));
    FetchOffsetsReply o = (FetchOffsetsReply) reloaded.query(QuorumRequest.newBuilder()
        .setFetchOffsets(FetchOffsetsRequest.newBuilder().setGroupId(GROUP)).build()).get();
    assertThat(o).isEqualTo(offsets());
    assertThat(o.getOffsetsList()).extracting(CommittedOffsetRecord::getOffset).containsExactly(11L, 12L);
  }

  @Test
  void malformedRequestsAreRefusedBeforeTheLog() {
    for (String bad : new String[] {"", "a\0b", "x".repeat(256)}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> domain.validate(QuorumRequest.newBuilder()
          .setGroupWrite(GroupWrite.newBuilder().setGroupId(bad).setWriter(writer(1))).build()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("group id");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> domain.validate(QuorumRequest.newBuilder()
        .setCommitOffsets(OffsetCommitBatch.newBuilder().setWriter(writer(1)).addCommits(GroupOffsetCommit.newBuilder()
            .setGroupId(GROUP).addOffsets(CommittedOffsetRecord.newBuilder().setTopic("t").setOffset(-1)))).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 0");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> domain.validate(QuorumRequest.newBuilder()
        .setGroupWrite(joinA(0).addMemberPuts(member("a", 2))).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
  }

  /** The families as sorted maps, keys compared as unsigned bytes like RocksDB's default. */
  private static final class MapStore implements StoreWriter {
    final Map<String, TreeMap<byte[], byte[]>> families = new HashMap<>();

    MapStore() {
      for (String f : GroupKeys.FAMILIES) families.put(f, new TreeMap<>(Arrays::compareUnsigned));
    }

    @Override
    public byte[] get(String family, byte[] key) {
      return families.get(family).get(key);
    }

    @Override
    public void forEach(String family, EntryVisitor visitor) throws java.io.IOException {
      for (Map.Entry<byte[], byte[]> e : families.get(family).entrySet()) visitor.visit(e.getKey(), e.getValue());
    }

    @Override
    public void put(String family, byte[] key, byte[] value) {
      families.get(family).put(key, value);
    }

    @Override
    public void delete(String family, byte[] key) {
      families.get(family).remove(key);
    }

    @Override
    public void deleteRange(String family, byte[] from, byte[] to) {
      families.get(family).subMap(from, to).clear();
    }
  }
}
