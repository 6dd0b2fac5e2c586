package dev.brook.quorum;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The quorum's group domain as a group coordinator uses it: each group's durable state and its
 * committed offsets. The quorum checks, at the log index where a write applies, that the writer is
 * the group's coordinator by the cluster state ({@link GroupPlacement}) with its current broker
 * epoch, and that it saw the group's latest version; and that an offset commit's member id and
 * epoch are the durable group's. Everything else about a group (epochs, assignments,
 * subscriptions) is the coordinator's, opaque bytes here.
 *
 * <p>Reads are answered by the Raft leader, which has applied every write acknowledged before.
 * Failures: a refused write fails with a {@link QuorumException} whose code says why
 * (NOT_COORDINATOR, INVALID_UPDATE_VERSION, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, INVALID_GROUP_ID); an unreachable
 * quorum with QUORUM_NOT_AVAILABLE. Offset commits answer per group. Thread-safe.
 */
public interface GroupStateClient {
  /** The longest group id accepted (Kafka sets no limit; 255 keeps keys and logs sane). */
  int MAX_GROUP_ID_LENGTH = 255;

  /** Longest offset metadata string, in characters (Kafka's {@code offset.metadata.max.bytes} default). */
  int MAX_OFFSET_METADATA_LENGTH = 4096;

  /** The group's durable state; version 0 and nothing else when it was never written. */
  CompletableFuture<DurableGroup> fetchGroup(String groupId);

  /** Applies {@code write}; completes with the group's new version. */
  CompletableFuture<Long> writeGroup(GroupWrite write);

  /** Commits offsets of any number of groups in one log entry; one result per commit, in order. */
  CompletableFuture<List<OffsetCommitResult>> commitOffsets(int brokerId, long brokerEpoch, List<OffsetCommit> commits);

  /**
   * The group's committed offsets of {@code partitions} (all when empty), sorted; an offset of a
   * topic that was deleted and created again is not returned.
   */
  CompletableFuture<List<CommittedOffset>> fetchOffsets(String groupId, Collection<OffsetKey> partitions);

  /** Every group with durable state or committed offsets, sorted by id. */
  CompletableFuture<List<GroupSummary>> listGroups();

  /** One group as {@link #listGroups} lists it. */
  record GroupSummary(String groupId, int memberCount, long version) {}

  /** Null when {@code groupId} is acceptable, else why not. */
  static String invalidGroupId(String groupId) {
    if (groupId == null || groupId.isEmpty()) return "the group id is empty";
    if (groupId.length() > MAX_GROUP_ID_LENGTH) {
      return "the group id has " + groupId.length() + " characters, more than " + MAX_GROUP_ID_LENGTH;
    }
    if (groupId.indexOf('\0') >= 0) return "the group id contains a NUL character";
    return null;
  }

  /** A partition of a topic, by name. */
  record OffsetKey(String topic, int partition) implements Comparable<OffsetKey> {
    public OffsetKey {
      Objects.requireNonNull(topic, "topic");
    }

    @Override
    public int compareTo(OffsetKey o) {
      int c = topic.compareTo(o.topic);
      return c != 0 ? c : Integer.compare(partition, o.partition);
    }
  }

  /** One member as the durable group holds it: its id, its epoch, and the coordinator's encoding. */
  record DurableMember(String memberId, int memberEpoch, ByteString data) {
    public DurableMember {
      Objects.requireNonNull(memberId, "memberId");
      data = data == null ? ByteString.EMPTY : data;
    }
  }

  /** A group's durable state at {@code version} (the Raft index of its last write; 0: never written). */
  record DurableGroup(String groupId, long version, ByteString data, List<DurableMember> members) {
    public DurableGroup {
      data = data == null ? ByteString.EMPTY : data;
      members = List.copyOf(members);
    }
  }

  /**
   * A change of one group by its coordinator.
   *
   * @param expectedVersion the version the coordinator last read or wrote
   * @param data the new group-level state, or null to keep it
   * @param memberRemovals member ids removed (before {@code memberPuts} apply)
   * @param deleteGroup delete the group and its offsets (a group without members only)
   */
  record GroupWrite(String groupId, int brokerId, long brokerEpoch, long expectedVersion, ByteString data,
      List<DurableMember> memberPuts, List<String> memberRemovals, boolean deleteGroup) {
    public GroupWrite {
      memberPuts = List.copyOf(memberPuts);
      memberRemovals = List.copyOf(memberRemovals);
    }
  }

  /**
   * A committed offset.
   *
   * @param leaderEpoch of the last consumed record, -1 if unknown
   * @param commitTimestampMs set by the quorum (ignored in a commit)
   */
  record CommittedOffset(String topic, int partition, long offset, int leaderEpoch, String metadata,
      long commitTimestampMs) {
    public CommittedOffset {
      metadata = metadata == null ? "" : metadata;
    }
  }

  /** One group's offsets committed by a member ("" and epoch -1 for a group without members). */
  record OffsetCommit(String groupId, String memberId, int memberEpoch, List<CommittedOffset> offsets) {
    public OffsetCommit {
      offsets = List.copyOf(offsets);
    }
  }

  /**
   * The verdict on one {@link OffsetCommit}: {@code error} refused all of it; otherwise every
   * partition not in {@code partitionErrors} was committed.
   */
  record OffsetCommitResult(String groupId, ErrorCode error, String message, Map<OffsetKey, ErrorCode> partitionErrors) {
    public OffsetCommitResult {
      partitionErrors = Map.copyOf(partitionErrors);
    }
  }
}
