package dev.brook.broker.service;

import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.TopicMetadata;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Converts the quorum's metadata image into the public wire messages. */
final class MetadataViews {
  private MetadataViews() {}

  static BrokerMetadata broker(BrokerImage b) {
    return BrokerMetadata.newBuilder().setNodeId(b.nodeId()).setAddress(b.address())
        .setRack(b.rack() == null ? "" : b.rack()).setFenced(b.fenced()).setBrokerEpoch(b.brokerEpoch())
        .setShuttingDown(b.shuttingDown()).setLastHeartbeatAgeMs(-1).build();
  }

  static List<BrokerMetadata> brokers(MetadataImage image) {
    List<BrokerMetadata> out = new ArrayList<>();
    for (BrokerImage b : image.brokers().values()) {
      out.add(broker(b));
    }
    return out;
  }

  static TopicMetadata topic(TopicImage t) {
    TopicMetadata.Builder b = TopicMetadata.newBuilder().setName(t.name()).setTopicId(t.topicId());
    for (PartitionImage p : t.partitions()) {
      b.addPartitions(PartitionMetadata.newBuilder().setPartition(p.partition()).setLeaderId(p.leaderId())
          .setLeaderEpoch(p.leaderEpoch()).addAllReplicas(p.replicas()).addAllIsr(p.isr())
          .setPartitionEpoch(p.partitionEpoch()).addAllEligibleLeaderReplicas(p.eligibleLeaderReplicas()));
    }
    return b.build();
  }

  /** The named topics (all when {@code names} is empty); unknown names come back with an error. */
  static List<TopicMetadata> topics(MetadataImage image, Collection<String> names) {
    List<TopicMetadata> out = new ArrayList<>();
    if (names.isEmpty()) {
      for (TopicImage t : image.topics().values()) {
        out.add(topic(t));
      }
      return out;
    }
    for (String name : names) {
      TopicImage t = image.topic(name);
      out.add(t != null ? topic(t) : TopicMetadata.newBuilder().setName(name)
          .setError(Errors.of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "unknown topic '" + name + "'")).build());
    }
    return out;
  }
}
