package dev.brook.quorum.cluster;

import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ImageSnapshot;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.TopicRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/** Conversions between stored records, images and keys. Stateless. */
public final class Records {
  private Records() {}

  /** Key of a partition record: UTF-8 topic id then big-endian partition, so a topic's partitions sort together. */
  static byte[] partitionKey(String topicId, int partition) {
    byte[] id = topicId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(id.length + 4).put(id).putInt(partition).array();
  }

  /** Key of a broker record: big-endian node id. */
  static byte[] brokerKey(int nodeId) {
    return ByteBuffer.allocate(4).putInt(nodeId).array();
  }

  static byte[] topicKey(String name) {
    return name.getBytes(StandardCharsets.UTF_8);
  }

  static TopicImage toTopicImage(TopicRecord topic, List<PartitionRecord> partitions) {
    List<PartitionImage> ps = new ArrayList<>(partitions.size());
    for (PartitionRecord p : partitions) ps.add(toPartitionImage(p));
    return new TopicImage(topic.getName(), topic.getTopicId(), topic.getConfigsMap(), ps);
  }

  static PartitionImage toPartitionImage(PartitionRecord p) {
    return new PartitionImage(p.getPartition(), p.getLeaderId(), p.getLeaderEpoch(), p.getReplicasList(), p.getIsrList(),
        p.getPartitionEpoch(), p.getEligibleLeaderReplicasList());
  }

  static PartitionRecord toPartitionRecord(String topicId, PartitionImage p) {
    return PartitionRecord.newBuilder()
        .setTopicId(topicId).setPartition(p.partition())
        .addAllReplicas(p.replicas()).addAllIsr(p.isr())
        .setLeaderId(p.leaderId()).setLeaderEpoch(p.leaderEpoch()).setPartitionEpoch(p.partitionEpoch())
        .addAllEligibleLeaderReplicas(p.eligibleLeaderReplicas())
        .build();
  }

  /** The record of a broker as far as the image knows it (registered_ms is not in the image: 0). */
  static BrokerRecord toBrokerRecord(BrokerImage b) {
    return BrokerRecord.newBuilder()
        .setNodeId(b.nodeId()).setAddress(b.address()).setRack(b.rack())
        .setFenced(b.fenced()).setBrokerEpoch(b.brokerEpoch()).setShuttingDown(b.shuttingDown())
        .setLeaseExpired(b.leaseExpired()).setIncarnationId(b.incarnationId())
        .build();
  }

  static BrokerImage toBrokerImage(BrokerRecord b) {
    return new BrokerImage(b.getNodeId(), b.getAddress(), b.getRack(), b.getFenced(), b.getBrokerEpoch(),
        b.getShuttingDown(), b.getLeaseExpired(), b.getIncarnationId());
  }

  /** The whole image as records, for remote clients. */
  static ImageSnapshot toSnapshot(MetadataImage image) {
    ImageSnapshot.Builder b = ImageSnapshot.newBuilder().setVersion(image.version())
        .setClusterId(image.clusterId() == null ? "" : image.clusterId());
    for (TopicImage t : image.topics().values()) {
      b.addTopics(TopicRecord.newBuilder().setName(t.name()).setTopicId(t.topicId()).putAllConfigs(t.configs())
          .setPartitionCount(t.partitions().size()));
      for (PartitionImage p : t.partitions()) b.addPartitions(toPartitionRecord(t.topicId(), p));
    }
    for (BrokerImage br : image.brokers().values()) b.addBrokers(toBrokerRecord(br));
    return b.build();
  }

  static MetadataImage fromSnapshot(ImageSnapshot s) {
    Map<String, List<PartitionRecord>> partsById = new HashMap<>();
    for (PartitionRecord p : s.getPartitionsList()) partsById.computeIfAbsent(p.getTopicId(), k -> new ArrayList<>()).add(p);
    Map<String, TopicImage> topics = new TreeMap<>();
    for (TopicRecord t : s.getTopicsList()) {
      List<PartitionRecord> ps = new ArrayList<>(partsById.getOrDefault(t.getTopicId(), List.of()));
      ps.sort((x, y) -> Integer.compare(x.getPartition(), y.getPartition()));
      topics.put(t.getName(), toTopicImage(t, ps));
    }
    Map<Integer, BrokerImage> brokers = new TreeMap<>();
    for (BrokerRecord b : s.getBrokersList()) brokers.put(b.getNodeId(), toBrokerImage(b));
    return new MetadataImage(s.getVersion(), s.getClusterId().isEmpty() ? null : s.getClusterId(), topics, brokers);
  }

  static Error error(ErrorCode code, String message) {
    return Error.newBuilder().setCode(code).setMessage(message == null ? "" : message).build();
  }

  static Error error(int code, String message) {
    ErrorCode c = ErrorCode.forNumber(code);
    return error(c == null ? ErrorCode.UNKNOWN_SERVER_ERROR : c, message);
  }

  /** A fresh random id: 32 lowercase hex characters. Leader side only, never in apply. */
  public static String newId() {
    return UUID.randomUUID().toString().replace("-", "");
  }
}
