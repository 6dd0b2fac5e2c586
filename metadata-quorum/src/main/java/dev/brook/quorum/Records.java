package dev.brook.quorum;

import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.TopicRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Conversions between stored records, images and keys. Stateless. */
final class Records {
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
        p.getPartitionEpoch());
  }

  static BrokerImage toBrokerImage(BrokerRecord b) {
    return new BrokerImage(b.getNodeId(), b.getAddress(), b.getRack(), b.getFenced(), b.getBrokerEpoch(), b.getShuttingDown());
  }

  static Error error(ErrorCode code, String message) {
    return Error.newBuilder().setCode(code).setMessage(message == null ? "" : message).build();
  }

  static Error error(int code, String message) {
    ErrorCode c = ErrorCode.forNumber(code);
    return error(c == null ? ErrorCode.UNKNOWN_SERVER_ERROR : c, message);
  }

  /** A fresh random id: 32 lowercase hex characters. Leader side only, never in apply. */
  static String newId() {
    return UUID.randomUUID().toString().replace("-", "");
  }
}
