package dev.brook.broker.service;

import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;

/** Builds the wire {@link Error} of per-item results. */
final class Errors {
  static final Error NONE = Error.getDefaultInstance();

  private Errors() {}

  static Error of(ErrorCode code, String message) {
    return Error.newBuilder().setCode(code).setMessage(message).build();
  }

  /**
   * As {@link #notHere(MetadataImage, String, int, int)}, but a partition whose log this broker
   * could not open (it is assigned here and stays offline) gets the reason: CORRUPT_RECORD when
   * recovery found damage it could not repair, STORAGE_ERROR for other failures.
   */
  static Error notHere(ReplicaManager replicas, String topic, int partition, int localNodeId) {
    ReplicaManager.Offline offline = replicas.offline(topic, partition);
    if (offline != null) {
      return of(offline.damaged() ? ErrorCode.CORRUPT_RECORD : ErrorCode.STORAGE_ERROR,
          topic + "-" + partition + " is offline on broker " + localNodeId + ": " + offline.reason());
    }
    return notHere(replicas.image(), topic, partition, localNodeId);
  }

  /**
   * The error for a request about a partition this broker does not lead: NOT_LEADER naming the
   * leader when the partition exists, else UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE
   * (also while the broker has not caught up with the cluster's metadata: {@code image} null).
   */
  static Error notHere(MetadataImage image, String topic, int partition, int localNodeId) {
    if (image == null) {
      return of(ErrorCode.LEADER_NOT_AVAILABLE, "broker " + localNodeId
          + " is starting: it has not caught up with the cluster metadata yet");
    }
    TopicImage t = image.topic(topic);
    if (t == null || partition < 0 || partition >= t.partitions().size()) {
      return of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          t == null ? "unknown topic '" + topic + "'" : "topic '" + topic + "' has no partition " + partition);
    }
    PartitionImage p = t.partitions().get(partition);
    if (p.leaderId() < 0) {
      return of(ErrorCode.LEADER_NOT_AVAILABLE, topic + "-" + partition + " has no leader at the moment");
    }
    BrokerImage leader = image.brokers().get(p.leaderId());
    return Error.newBuilder().setCode(ErrorCode.NOT_LEADER)
        .setMessage("broker " + localNodeId + " is not the leader of " + topic + "-" + partition
            + "; the leader is broker " + p.leaderId())
        .setLeaderId(p.leaderId())
        .setLeaderAddress(leader == null ? "" : leader.address())
        .build();
  }
}
