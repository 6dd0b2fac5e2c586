package dev.brook.quorum.cluster;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicResult;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ElectLeaderResult;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.TopicPartitions;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.AlterPartition;
import dev.brook.quorum.proto.AlterPartitionReply;
import dev.brook.quorum.proto.BrokerChange;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ClusterRecord;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.CreateTopics;
import dev.brook.quorum.proto.DeleteTopics;
import dev.brook.quorum.proto.ElectLeaders;
import dev.brook.quorum.proto.InitializeCluster;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.PartitionAlteration;
import dev.brook.quorum.proto.PartitionAssignment;
import dev.brook.quorum.proto.PartitionChange;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.RegisterBroker;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.RegistrationRefusal;
import dev.brook.quorum.proto.TopicCreation;
import dev.brook.quorum.proto.TopicRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one committed {@link MetadataCommand} to an image: the new image, the RocksDB changes
 * and the client reply. Pure and deterministic — no clock, no randomness, no I/O — so every
 * replica computes the same result from the same log. It re-checks what the leader validated
 * (an earlier entry may have created the topic or fenced a broker since); a failed check becomes
 * an error in the reply, never an exception. Stateless and thread-safe.
 */
public final class MetadataApplier {
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
      case CONTROLLER_BATCH -> controllerBatch(image, command.getControllerBatch(), index);
      case ALTER_PARTITION -> alterPartition(image, command.getAlterPartition(), index);
      case ELECT_LEADERS -> electLeaders(image, command.getElectLeaders(), index);
      // The state machine routes only the cluster domain's commands here.
      default -> throw new IllegalArgumentException(command.getCommandCase() + " is not a cluster command");
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
    String clusterId = image.clusterId() == null ? "" : image.clusterId();
    if (cmd.getRefusal() != RegistrationRefusal.REGISTRATION_ACCEPTED) {
      // The leader's verdict (it alone knows the leases): nothing changes on any replica.
      LOG.warn("Registration of broker {} at {} refused ({}): {}", cmd.getNodeId(), cmd.getAddress(), cmd.getRefusal(),
          cmd.getRefusalMessage());
      return new Result(image, new StoreDelta(), RegisterBrokerReply.newBuilder().setRefusal(cmd.getRefusal())
          .setRefusalMessage(cmd.getRefusalMessage()).setClusterId(clusterId).build().toByteString());
    }
    BrokerRecord record = BrokerRecord.newBuilder()
        .setNodeId(cmd.getNodeId()).setAddress(cmd.getAddress()).setRack(cmd.getRack())
        .setFenced(true).setShuttingDown(false).setBrokerEpoch(index).setRegisteredMs(cmd.getTimestampMs())
        .setIncarnationId(cmd.getIncarnationId())
        .build();
    StoreDelta delta = new StoreDelta();
    delta.brokerPuts.add(record);
    Map<Integer, BrokerImage> brokers = new TreeMap<>(image.brokers());
    brokers.put(cmd.getNodeId(), Records.toBrokerImage(record));
    // It starts fenced (its first heartbeat with this epoch unfences it), so a previous
    // incarnation's leaderships and ISR places are void now: hand them over in the same entry.
    Changes changes = new Changes(new MetadataImage(index, image.clusterId(), image.topics(), brokers), index);
    IntPredicate active = changes::isActive;
    for (TopicImage t : image.topics().values()) {
      for (PartitionImage p : t.partitions()) {
        if (p.leaderId() == cmd.getNodeId() || p.isr().contains(cmd.getNodeId())) {
          PartitionChange c = PartitionChanges.reconcile(t, p, active);
          if (c != null) changes.apply(c, delta);
        }
      }
    }
    LOG.info("Broker {} registered at {} with epoch {} (fenced until its first heartbeat)", cmd.getNodeId(),
        cmd.getAddress(), index);
    return new Result(changes.image(), delta,
        RegisterBrokerReply.newBuilder().setBrokerEpoch(index).setClusterId(clusterId).build().toByteString());
  }

  private Result controllerBatch(MetadataImage image, ControllerBatch cmd, long index) {
    StoreDelta delta = new StoreDelta();
    Map<Integer, BrokerImage> brokers = null;
    for (BrokerChange c : cmd.getBrokersList()) {
      BrokerImage b = (brokers != null ? brokers : image.brokers()).get(c.getNodeId());
      if (b == null || b.brokerEpoch() != c.getBrokerEpoch()) {
        LOG.info("Skipping change of broker {} epoch {}: the broker re-registered or left", c.getNodeId(), c.getBrokerEpoch());
        continue;
      }
      boolean fenced = c.hasFenced() ? c.getFenced() : b.fenced();
      boolean shuttingDown = c.hasShuttingDown() ? c.getShuttingDown() : b.shuttingDown();
      // A spent epoch stays spent: nothing but a new registration unfences it.
      boolean leaseExpired = b.leaseExpired() || (c.hasLeaseExpired() && c.getLeaseExpired());
      if (leaseExpired) fenced = true;
      if (fenced == b.fenced() && shuttingDown == b.shuttingDown() && leaseExpired == b.leaseExpired()) continue;
      if (brokers == null) brokers = new TreeMap<>(image.brokers());
      brokers.put(b.nodeId(), new BrokerImage(b.nodeId(), b.address(), b.rack(), fenced, b.brokerEpoch(), shuttingDown,
          leaseExpired, b.incarnationId()));
      delta.brokerPatches.add(new StoreDelta.BrokerPatch(b.nodeId(), fenced, shuttingDown, leaseExpired));
      LOG.info("Broker {} (epoch {}) is now {}{} at index {}", b.nodeId(), b.brokerEpoch(), fenced ? "fenced" : "unfenced",
          shuttingDown ? ", shutting down" : "", index);
    }
    MetadataImage withBrokers = brokers == null ? image : new MetadataImage(index, image.clusterId(), image.topics(), brokers);
    Changes changes = new Changes(withBrokers, index);
    int applied = 0;
    for (PartitionChange c : cmd.getPartitionsList()) {
      if (changes.apply(c, delta)) applied++;
    }
    if (applied < cmd.getPartitionsCount()) {
      LOG.info("{} of {} partition changes ({}) no longer applied at index {}; the controller recomputes them",
          cmd.getPartitionsCount() - applied, cmd.getPartitionsCount(), cmd.getReason(), index);
    }
    MetadataImage next = changes.image();
    if (next != image) LOG.info("Controller: {} at index {}: {} partition changes", cmd.getReason(), index, applied);
    return new Result(next, delta, ByteString.EMPTY);
  }

  private Result alterPartition(MetadataImage image, AlterPartition cmd, long index) {
    StoreDelta delta = new StoreDelta();
    PartitionAlteration r = cmd.getRequest();
    AlterPartitionRequest req = new AlterPartitionRequest(r.getTopic(), r.getPartition(), r.getLeaderId(),
        r.getLeaderBrokerEpoch(), r.getLeaderEpoch(), r.getPartitionEpoch(), r.getNewIsrList(),
        r.getAddedBrokerEpochsMap());
    // Re-checked with the leader's rules: an entry in between may have moved an epoch on.
    PartitionChanges.AlterCheck check = PartitionChanges.checkAlter(image, req);
    ErrorCode error = cmd.getErrorCode() != 0 ? ErrorCode.forNumber(cmd.getErrorCode()) : check.error();
    String message = cmd.getErrorCode() != 0 ? cmd.getErrorMessage() : check.message();
    if (error == null) error = ErrorCode.UNKNOWN_SERVER_ERROR;
    MetadataImage next = image;
    PartitionImage after = check.current();
    if (error == ErrorCode.NONE && check.change() != null) {
      Changes changes = new Changes(image, index);
      changes.apply(check.change(), delta);
      next = changes.image();
      after = next.topic(req.topic()).partitions().get(req.partition());
      LOG.info("ISR of {}-{} changed by leader {}: {} -> {} (partition epoch {}) at index {}", req.topic(), req.partition(),
          req.leaderId(), check.current().isr(), after.isr(), after.partitionEpoch(), index);
    }
    AlterPartitionReply.Builder reply = AlterPartitionReply.newBuilder().setErrorCode(error.getNumber()).setErrorMessage(message);
    if (after != null) reply.setPartition(Records.toPartitionRecord(next.topic(req.topic()).topicId(), after));
    return new Result(next, delta, reply.build().toByteString());
  }

  private Result electLeaders(MetadataImage image, ElectLeaders cmd, long index) {
    ElectLeadersRequest req;
    try {
      req = ElectLeadersRequest.parseFrom(cmd.getRequest());
    } catch (InvalidProtocolBufferException e) {
      LOG.warn("Skipping unreadable ElectLeaders request at index {}", index);
      return new Result(image, new StoreDelta(), ElectLeadersResponse.getDefaultInstance().toByteString());
    }
    StoreDelta delta = new StoreDelta();
    Changes changes = new Changes(image, index);
    ElectLeadersResponse.Builder reply = ElectLeadersResponse.newBuilder();
    for (TopicPartitions tp : expand(image, req)) {
      TopicImage t = image.topic(tp.getTopic());
      for (int partition : tp.getPartitionsList()) {
        ElectLeaderResult.Builder r = ElectLeaderResult.newBuilder().setTopic(tp.getTopic()).setPartition(partition).setLeaderId(-1);
        PartitionImage p = t == null ? null : changes.partition(t.name(), partition);
        if (p == null) {
          reply.addResults(r.setError(Records.error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              "topic '" + tp.getTopic() + "' has no partition " + partition)));
          continue;
        }
        ErrorCode problem = PartitionChanges.preferredProblem(p, changes::isActive);
        if (problem == null) {
          changes.apply(PartitionChanges.preferred(t, p, changes::isActive), delta);
          p = changes.partition(t.name(), partition);
          LOG.info("Preferred leader {} elected for {}-{} (leader epoch {}) at index {}", p.leaderId(), t.name(), partition,
              p.leaderEpoch(), index);
        }
        String why = problem == null ? "" : problem == ErrorCode.ELECTION_NOT_NEEDED ? "the preferred replica already leads"
            : "the preferred replica " + p.preferredLeader() + " is not active or not in sync";
        reply.addResults(r.setError(Records.error(problem == null ? ErrorCode.NONE : problem, why))
            .setLeaderId(p.leaderId()).setLeaderEpoch(p.leaderEpoch()));
      }
    }
    return new Result(changes.image(), delta, reply.build().toByteString());
  }

  /** The request with "all" spelled out: every partition of every topic, or of a named topic. */
  static List<TopicPartitions> expand(MetadataImage image, ElectLeadersRequest req) {
    List<TopicPartitions> out = new ArrayList<>();
    if (req.getPartitionsCount() == 0) {
      for (TopicImage t : image.topics().values()) out.add(all(t));
      return out;
    }
    for (TopicPartitions tp : req.getPartitionsList()) {
      TopicImage t = image.topic(tp.getTopic());
      if (tp.getPartitionsCount() == 0 && t != null) {
        out.add(all(t));
      } else if (tp.getPartitionsCount() == 0) {
        out.add(tp.toBuilder().addPartitions(-1).build()); // answered UNKNOWN_TOPIC_OR_PARTITION
      } else {
        out.add(tp);
      }
    }
    return out;
  }

  private static TopicPartitions all(TopicImage t) {
    TopicPartitions.Builder b = TopicPartitions.newBuilder().setTopic(t.name());
    for (PartitionImage p : t.partitions()) b.addPartitions(p.partition());
    return b.build();
  }

  /**
   * Partition changes of one entry, accumulated: each change is checked against the state left
   * by the ones before it, and topic images are rebuilt once per topic at the end.
   */
  private static final class Changes {
    private final MetadataImage base;
    private final long index;
    private final Map<String, List<PartitionImage>> modified = new HashMap<>();

    Changes(MetadataImage base, long index) {
      this.base = base;
      this.index = index;
    }

    boolean isActive(int nodeId) {
      return PartitionChanges.isActive(base, nodeId);
    }

    PartitionImage partition(String topic, int partition) {
      List<PartitionImage> ps = modified.get(topic);
      if (ps == null) {
        TopicImage t = base.topic(topic);
        if (t == null) return null;
        ps = t.partitions();
      }
      return partition >= 0 && partition < ps.size() ? ps.get(partition) : null;
    }

    /** Applies {@code c} when it still may; true when it did. */
    boolean apply(PartitionChange c, StoreDelta delta) {
      TopicImage t = base.topic(c.getTopic());
      PartitionImage p = partition(c.getTopic(), c.getPartition());
      PartitionImage next = PartitionChanges.applyIfValid(t, p, c, this::isActive);
      if (next == null) return false;
      modified.computeIfAbsent(c.getTopic(), k -> new ArrayList<>(t.partitions())).set(c.getPartition(), next);
      delta.partitionPuts.add(Records.toPartitionRecord(t.topicId(), next));
      return true;
    }

    /** The base image with the changes, or the base itself when there are none. */
    MetadataImage image() {
      if (modified.isEmpty()) return base;
      Map<String, TopicImage> topics = new TreeMap<>(base.topics());
      for (Map.Entry<String, List<PartitionImage>> e : modified.entrySet()) {
        TopicImage t = base.topic(e.getKey());
        topics.put(e.getKey(), new TopicImage(t.name(), t.topicId(), t.configs(), e.getValue()));
      }
      return new MetadataImage(index, base.clusterId(), topics, base.brokers());
    }
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
        if (b == null || !b.isActive()) {
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
