package dev.brook.broker.group;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Where the coordinator keeps groups durably (the metadata quorum's group domain). A write is
 * accepted only from the group's coordinator by the quorum's own state, so a deposed coordinator's
 * writes fail and it can never change a group it no longer coordinates.
 */
public interface GroupStore {
  /** The group's durable state in compact form ({@link ConsumerGroup#asChanges}); empty for a group never written. */
  CompletableFuture<List<GroupChange>> load(String groupId);

  /**
   * The group's durable state as {@link #load} returns it, for describing it: unlike load, it
   * does not become the version the next write is decided on.
   */
  CompletableFuture<List<GroupChange>> read(String groupId);

  /**
   * Deletes the group (which has no members) and its committed offsets; fails with
   * GROUP_ID_NOT_FOUND when there is neither, NON_EMPTY_GROUP when a member joined since.
   */
  CompletableFuture<Void> delete(String groupId);

  /** Makes {@code changes} durable, in order; completes once they are, exceptionally when refused or lost. */
  CompletableFuture<Void> write(String groupId, List<GroupChange> changes);

  /**
   * Makes offset commits durable; the store may gather the commits of many groups into one write.
   * {@code memberEpoch} is the committer's, checked again by the store against the durable group
   * (a commit racing with the member's removal is refused there, not only here).
   */
  CompletableFuture<Void> commitOffsets(String groupId, String memberId, int memberEpoch,
      Map<TopicPartition, OffsetAndMetadata> offsets);

  /** The group's committed offsets of {@code partitions} (all of them when empty); absent when none. */
  CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> fetchOffsets(String groupId, Set<TopicPartition> partitions);
}
