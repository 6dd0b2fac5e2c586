package dev.brook.quorum.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ClusterRecord;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.TopicRecord;
import dev.brook.quorum.raft.StoreReader;
import dev.brook.quorum.raft.StoreWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster domain's column families: {@code cluster} (key {@code cluster} → ClusterRecord),
 * {@code topics} (name → TopicRecord), {@code partitions} (topic id + big-endian partition →
 * PartitionRecord), {@code brokers} (big-endian node id → BrokerRecord). Reads them into a
 * {@link MetadataImage} and turns a {@link StoreDelta} into writes. Stateless.
 */
final class ClusterStore {
  static final String CLUSTER = "cluster";
  static final String TOPICS = "topics";
  static final String PARTITIONS = "partitions";
  static final String BROKERS = "brokers";
  static final List<String> FAMILIES = List.of(CLUSTER, TOPICS, PARTITIONS, BROKERS);
  private static final byte[] CLUSTER_KEY = "cluster".getBytes(StandardCharsets.UTF_8);

  private ClusterStore() {}

  /** The image the families hold, at {@code version}. */
  static MetadataImage load(StoreReader store, long version) throws IOException {
    try {
      byte[] c = store.get(CLUSTER, CLUSTER_KEY);
      String clusterId = c == null ? null : ClusterRecord.parseFrom(c).getClusterId();
      Map<String, List<PartitionRecord>> partsById = new HashMap<>();
      store.forEach(PARTITIONS, (k, v) -> {
        PartitionRecord p = PartitionRecord.parseFrom(v);
        partsById.computeIfAbsent(p.getTopicId(), x -> new ArrayList<>()).add(p); // key order = partition order
      });
      Map<String, TopicImage> topics = new TreeMap<>();
      store.forEach(TOPICS, (k, v) -> {
        TopicRecord t = TopicRecord.parseFrom(v);
        List<PartitionRecord> ps = partsById.getOrDefault(t.getTopicId(), List.of());
        if (ps.size() != t.getPartitionCount()) {
          throw new IOException("topic " + t.getName() + " has " + ps.size() + " partition records, expected "
              + t.getPartitionCount() + ": the metadata database is corrupt");
        }
        topics.put(t.getName(), Records.toTopicImage(t, ps));
      });
      Map<Integer, BrokerImage> brokers = new TreeMap<>();
      store.forEach(BROKERS, (k, v) -> {
        BrokerRecord b = BrokerRecord.parseFrom(v);
        brokers.put(b.getNodeId(), Records.toBrokerImage(b));
      });
      return new MetadataImage(version, clusterId, topics, brokers);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException("unreadable cluster record in the metadata database: " + e.getMessage(), e);
    }
  }

  /** Adds one entry's changes to its write batch. */
  static void write(StoreDelta delta, StoreWriter w) throws IOException {
    if (delta.cluster != null) w.put(CLUSTER, CLUSTER_KEY, delta.cluster.toByteArray());
    for (StoreDelta.DeletedTopic t : delta.topicDeletes) {
      w.delete(TOPICS, Records.topicKey(t.name()));
      w.deleteRange(PARTITIONS, Records.partitionKey(t.topicId(), 0), Records.partitionKey(t.topicId(), Integer.MAX_VALUE));
      w.delete(PARTITIONS, Records.partitionKey(t.topicId(), Integer.MAX_VALUE));
    }
    for (TopicRecord t : delta.topicPuts) w.put(TOPICS, Records.topicKey(t.getName()), t.toByteArray());
    for (PartitionRecord p : delta.partitionPuts) {
      w.put(PARTITIONS, Records.partitionKey(p.getTopicId(), p.getPartition()), p.toByteArray());
    }
    for (BrokerRecord b : delta.brokerPuts) w.put(BROKERS, Records.brokerKey(b.getNodeId()), b.toByteArray());
    for (StoreDelta.BrokerPatch patch : delta.brokerPatches) {
      // Deterministic read-modify-write: every replica's database holds the same record here.
      byte[] key = Records.brokerKey(patch.nodeId());
      byte[] old = w.get(BROKERS, key);
      if (old == null) throw new IOException("broker " + patch.nodeId() + " has no record to change");
      BrokerRecord b = BrokerRecord.parseFrom(old).toBuilder()
          .setFenced(patch.fenced()).setShuttingDown(patch.shuttingDown()).setLeaseExpired(patch.leaseExpired()).build();
      w.put(BROKERS, key, b.toByteArray());
    }
  }
}
