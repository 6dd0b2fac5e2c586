package dev.brook.quorum.cluster;

import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ClusterRecord;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.TopicRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * The RocksDB changes of one applied entry, produced by {@link MetadataApplier} (pure) and
 * written by {@link ClusterStore} in one WriteBatch together with the applied index. Filled in
 * by the applier, then only read. Not thread-safe.
 */
public final class StoreDelta {
  /** A deleted topic: its name (topics key) and id (prefix of its partition keys). */
  record DeletedTopic(String name, String topicId) {}

  /**
   * A change of a registered broker's state; the store rewrites its record with these values
   * (keeping the registration fields, which the image does not carry).
   */
  record BrokerPatch(int nodeId, boolean fenced, boolean shuttingDown, boolean leaseExpired) {}

  ClusterRecord cluster;
  final List<BrokerPatch> brokerPatches = new ArrayList<>();
  final List<TopicRecord> topicPuts = new ArrayList<>();
  final List<DeletedTopic> topicDeletes = new ArrayList<>();
  final List<PartitionRecord> partitionPuts = new ArrayList<>();
  final List<BrokerRecord> brokerPuts = new ArrayList<>();

  boolean isEmpty() {
    return cluster == null && topicPuts.isEmpty() && topicDeletes.isEmpty() && partitionPuts.isEmpty()
        && brokerPuts.isEmpty() && brokerPatches.isEmpty();
  }
}
