package dev.brook.broker.group;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where the coordinator keeps groups durably (the metadata quorum's group domain). A write is
 * accepted only from the group's coordinator by the quorum's own state, so a deposed coordinator's
 * writes fail and it can never change a group it no longer coordinates.
 */
public interface GroupStore {
  /** The group's durable state in compact form ({@link ConsumerGroup#asChanges}); empty for a group never written. */
  CompletableFuture<List<GroupChange>> load(String groupId);

  /** Makes {@code changes} durable, in order; completes once they are, exceptionally when refused or lost. */
  CompletableFuture<Void> write(String groupId, List<GroupChange> changes);
}
