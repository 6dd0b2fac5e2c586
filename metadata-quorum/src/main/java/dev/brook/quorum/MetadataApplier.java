package dev.brook.quorum;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicResult;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ClusterRecord;
import dev.brook.quorum.proto.CreateTopics;
import dev.brook.quorum.proto.DeleteTopics;
import dev.brook.quorum.proto.InitializeCluster;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.PartitionAssignment;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.RegisterBroker;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.TopicCreation;
import dev.brook.quorum.proto.TopicRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one committed {@link MetadataCommand} to an image: the new image, the RocksDB changes
 * and the client reply. Pure and deterministic — no clock, no randomness, no I/O — so every
 * replica computes the same result from the same log. It re-checks what the leader validated
 * (an earlier entry may have created the topic or fenced a broker since); a failed check becomes
 * an error in the reply, never an exception. Stateless and thread-safe.
 */
final class MetadataApplier {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataApplier.class);

  /**
   * @param image the image before the entry; returned unchanged when the entry changes nothing
   * @param reply the Ratis reply content (serialized brook.v1 response or internal reply)
   */
  record Result(MetadataImage image, StoreDelta delta, ByteString reply) {}

  Result apply(MetadataImage image, MetadataCommand command, long index) {
    return switch (command.getCommandCase()) {
      case INITIALIZE_CLUSTER -> initializeCluster(image, command.getInitializeCluster(), index);
      case REGISTER_BROKER -> registerBroker(image, command.getRegisterBroker(), index);
      case CREATE_TOPICS -> createTopics(image, command.getCreateTopics(), index);
      case DELETE_TOPICS -> deleteTopics(image, command.getDeleteTopics(), index);
      case COMMAND_NOT_SET -> {
        LOG.warn("Skipping metadata entry {} with an unknown command (written by a newer version?)", index);
        yield new Result(image, new StoreDelta(), ByteString.EMPTY);
      }
    };
  }

  private Result initializeCluster(MetadataImage image, InitializeCluster cmd, long index) {
    StoreDelta delta = new StoreDelta();
    if (image.clusterId() != null) {
      // Another node's InitializeCluster won the race: keep the first id.
      return new Result(image, delta, ClusterRecord.newBuilder().setClusterId(image.clusterId()).build().toByteString());
    }
    ClusterRecord record = ClusterRecord.newBuilder().setClusterId(cmd.getClusterId()).setCreatedMs(cmd.getTimestampMs()).build();
    delta.cluster = record;
    LOG.info("Cluster initialized with id {} at index {}", cmd.getClusterId(), index);
    return new Result(new MetadataImage(index, cmd.getClusterId(), image.topics(), image.brokers()), delta, record.toByteString());
  }

  private Result registerBroker(MetadataImage image, RegisterBroker cmd, long index) {
    BrokerRecord record = BrokerRecord.newBuilder()
        .setNodeId(cmd.getNodeId()).setAddress(cmd.getAddress()).setRack(cmd.getRack())
        .setFenced(false).setBrokerEpoch(index).setRegisteredMs(cmd.getTimestampMs())
        .build();
    StoreDelta delta = new StoreDelta();
    delta.brokerPuts.add(record);
    Map<Integer, BrokerImage> brokers = new TreeMap<>(image.brokers());
    brokers.put(cmd.getNodeId(), Records.toBrokerImage(record));
    LOG.info("Broker {} registered at {} with epoch {}", cmd.getNodeId(), cmd.getAddress(), index);
    return new Result(new MetadataImage(index, image.clusterId(), image.topics(), brokers), delta,
        RegisterBrokerReply.newBuilder().setBrokerEpoch(index).build().toByteString());
  }

  private Result createTopics(MetadataImage image, CreateTopics cmd, long index) {
    StoreDelta delta = new StoreDelta();
    Map<String, TopicImage> topics = null; // copied on first change
    CreateTopicsResponse.Builder reply = CreateTopicsResponse.newBuilder();
    for (TopicCreation t : cmd.getTopicsList()) {
      CreateTopicResult.Builder r = CreateTopicResult.newBuilder().setName(t.getName())
          .setPartitions(t.getPartitionCount()).setReplicationFactor(t.getReplicationFactor());
      String problem = t.getErrorCode() != 0 ? t.getErrorMessage() : recheck(image, topics, t);
      if (problem != null) {
        int code = t.getErrorCode() != 0 ? t.getErrorCode()
            : (exists(image, topics, t.getName()) ? ErrorCode.TOPIC_ALREADY_EXISTS_VALUE : ErrorCode.INVALID_REPLICATION_FACTOR_VALUE);
        reply.addTopics(r.setError(Records.error(code, problem)));
        continue;
      }
      TopicRecord topic = TopicRecord.newBuilder()
          .setName(t.getName()).setTopicId(t.getTopicId()).putAllConfigs(t.getConfigsMap())
          .setPartitionCount(t.getPartitionsCount()).setCreatedMs(cmd.getTimestampMs())
          .build();
      List<PartitionRecord> partitions = new ArrayList<>(t.getPartitionsCount());
      for (int p = 0; p < t.getPartitionsCount(); p++) {
        List<Integer> replicas = t.getPartitions(p).getReplicasList();
        partitions.add(PartitionRecord.newBuilder()
            .setTopicId(t.getTopicId()).setPartition(p)
            .addAllReplicas(replicas).addAllIsr(replicas)
            .setLeaderId(replicas.get(0)).setLeaderEpoch(0).setPartitionEpoch(0)
            .build());
      }
      delta.topicPuts.add(topic);
      delta.partitionPuts.addAll(partitions);
      if (topics == null) topics = new TreeMap<>(image.topics());
      topics.put(t.getName(), Records.toTopicImage(topic, partitions));
      reply.addTopics(r.setTopicId(t.getTopicId()).setError(Records.error(ErrorCode.NONE, "")));
      LOG.info("Topic {} created with id {}, {} partitions, replication factor {} at index {}",
          t.getName(), t.getTopicId(), t.getPartitionCount(), t.getReplicationFactor(), index);
    }
    MetadataImage next = topics == null ? image : new MetadataImage(index, image.clusterId(), topics, image.brokers());
    return new Result(next, delta, reply.build().toByteString());
  }

  /** Null when an accepted creation can still be applied, else why not. */
  private static String recheck(MetadataImage image, Map<String, TopicImage> created, TopicCreation t) {
    if (exists(image, created, t.getName())) return "topic '" + t.getName() + "' already exists";
    if (t.getPartitionsCount() < 1) return "no partition assignment";
    for (PartitionAssignment a : t.getPartitionsList()) {
      if (a.getReplicasCount() == 0) return "partition without replicas";
      for (int broker : a.getReplicasList()) {
        BrokerImage b = image.brokers().get(broker);
        if (b == null || b.fenced()) {
          return "broker " + broker + " chosen as a replica is no longer available; retry";
        }
      }
    }
    return null;
  }

  private static boolean exists(MetadataImage image, Map<String, TopicImage> created, String name) {
    return (created != null ? created.containsKey(name) : image.topic(name) != null);
  }

  private Result deleteTopics(MetadataImage image, DeleteTopics cmd, long index) {
    StoreDelta delta = new StoreDelta();
    Map<String, TopicImage> topics = null;
    DeleteTopicsResponse.Builder reply = DeleteTopicsResponse.newBuilder();
    for (String name : cmd.getNamesList()) {
      TopicImage t = topics != null ? topics.get(name) : image.topic(name);
      if (t == null) {
        reply.addTopics(DeleteTopicResult.newBuilder().setName(name)
            .setError(Records.error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic '" + name + "' does not exist")));
        continue;
      }
      if (topics == null) topics = new TreeMap<>(image.topics());
      topics.remove(name);
      delta.topicDeletes.add(new StoreDelta.DeletedTopic(name, t.topicId()));
      reply.addTopics(DeleteTopicResult.newBuilder().setName(name).setError(Records.error(ErrorCode.NONE, "")));
      LOG.info("Topic {} (id {}) deleted at index {}", name, t.topicId(), index);
    }
    MetadataImage next = topics == null ? image : new MetadataImage(index, image.clusterId(), topics, image.brokers());
    return new Result(next, delta, reply.build().toByteString());
  }
}
