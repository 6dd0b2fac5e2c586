package dev.brook.quorum.cluster;

import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.protocol.TopicConfig;
import dev.brook.protocol.TopicNames;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.proto.AlterPartition;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.CreateTopics;
import dev.brook.quorum.proto.DeleteTopics;
import dev.brook.quorum.proto.ElectLeaders;
import dev.brook.quorum.proto.InitializeCluster;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.PartitionAlteration;
import dev.brook.quorum.proto.PartitionAssignment;
import dev.brook.quorum.proto.RegisterBroker;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import dev.brook.quorum.proto.RegistrationRefusal;
import dev.brook.quorum.proto.TopicCreation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Leader side of a write: turns a client request into a {@link MetadataCommand}, validating it
 * against the latest applied image and stamping in everything apply must not compute itself
 * (ids, timestamps, placement). Pure apart from the injected id generator and clock.
 * Thread-safe (stateless; Ratis may call startTransaction from several threads).
 */
public final class RequestValidator {
  /** An upper bound on partitions per topic: a typo must not create a million partition records. */
  static final int MAX_PARTITIONS = 10_000;

  private final int defaultPartitions;
  private final int defaultReplicationFactor;
  private final Supplier<String> ids;
  private final LongSupplier clock;
  private final IncarnationLeases leases;
  private final LongSupplier monotonicMs;

  /** A validator without lease evidence (tests): registrations without an incarnation id never conflict. */
  RequestValidator(int defaultPartitions, int defaultReplicationFactor, Supplier<String> ids, LongSupplier clock) {
    this(defaultPartitions, defaultReplicationFactor, ids, clock, new IncarnationLeases(0), () -> 0L);
  }

  /**
   * @param clock wall clock (ms since the epoch) for the timestamps stamped into commands
   * @param leases the active controller's incarnation evidence, for refusing duplicate node ids
   * @param monotonicMs the clock {@code leases} is kept in
   */
  public RequestValidator(int defaultPartitions, int defaultReplicationFactor, Supplier<String> ids, LongSupplier clock,
      IncarnationLeases leases, LongSupplier monotonicMs) {
    this.defaultPartitions = defaultPartitions;
    this.defaultReplicationFactor = defaultReplicationFactor;
    this.ids = ids;
    this.clock = clock;
    this.leases = leases;
    this.monotonicMs = monotonicMs;
  }

  MetadataCommand initializeCluster() {
    return MetadataCommand.newBuilder()
        .setInitializeCluster(InitializeCluster.newBuilder().setClusterId(ids.get()).setTimestampMs(clock.getAsLong()))
        .build();
  }

  /** As {@link #registerBroker(RegisterBrokerRequest, MetadataImage)} on an empty image (tests). */
  MetadataCommand registerBroker(RegisterBrokerRequest req) {
    return registerBroker(req, MetadataImage.EMPTY);
  }

  /**
   * A registration, with the leader's verdict stamped in (see RegistrationRefusal in
   * quorum.proto): refused when the node's data dir belongs to another cluster, or when another
   * incarnation of the node id holds a live lease (its registration is not lease-expired and
   * {@link IncarnationLeases#state} says LIVE). When the leader cannot tell yet (UNKNOWN: it is
   * too new) the request fails without reaching the log and the node retries; once the old
   * lease is EXPIRED the new incarnation takes over. The same incarnation (a restart on the same
   * data dir) is always accepted, and so is any registration without an incarnation id or over
   * one without. An accepted one counts as contact with its incarnation.
   *
   * @throws IllegalArgumentException when the request is malformed, or its verdict must wait
   *     (the client gets INVALID_REQUEST, which BrokerLifecycle retries)
   */
  MetadataCommand registerBroker(RegisterBrokerRequest req, MetadataImage image) {
    int id = req.getNodeId();
    if (id < 0) throw new IllegalArgumentException("broker node id must be >= 0, got " + id);
    if (req.getAddress().isBlank()) throw new IllegalArgumentException("broker " + id + " has no address");
    RegisterBroker.Builder cmd = RegisterBroker.newBuilder()
        .setNodeId(id).setAddress(req.getAddress()).setRack(req.getRack())
        .setTimestampMs(clock.getAsLong()).setIncarnationId(req.getIncarnationId());
    String clusterId = image.clusterId();
    BrokerImage holder = image.brokers().get(id);
    long now = monotonicMs.getAsLong();
    String incarnation = req.getIncarnationId();
    if (!req.getClusterId().isEmpty() && clusterId != null && !clusterId.equals(req.getClusterId())) {
      cmd.setRefusal(RegistrationRefusal.CLUSTER_ID_MISMATCH).setRefusalMessage("the data dir of node " + id
          + " belongs to cluster " + req.getClusterId() + " but this metadata quorum is cluster " + clusterId);
    } else if (holder != null && !incarnation.isEmpty() && !holder.incarnationId().isEmpty()
        && !holder.incarnationId().equals(incarnation) && !holder.leaseExpired()) {
      switch (leases.state(id, holder.incarnationId(), now)) {
        case LIVE -> {
          long age = leases.ageMs(id, holder.incarnationId(), now);
          cmd.setRefusal(RegistrationRefusal.NODE_ID_IN_USE).setRefusalMessage("node.id " + id
              + " is in use by a live node at " + holder.address() + " (incarnation " + holder.incarnationId()
              + ", last heard " + age + " ms ago); this node is incarnation " + incarnation
              + ": give it another node.id, or wait until the other node's lease expired (broker.session.timeout.ms)");
        }
        // Not logged, answered as an invalid request: the node retries until the leader can tell.
        case UNKNOWN -> throw new IllegalArgumentException("node.id " + id + " is registered by incarnation "
            + holder.incarnationId() + " at " + holder.address() + ", whose lease this quorum leader cannot judge yet"
            + " (it became leader less than broker.session.timeout.ms ago); retry");
        case EXPIRED -> leases.heard(id, incarnation, now);
      }
    } else {
      leases.heard(id, incarnation, now);
    }
    return MetadataCommand.newBuilder().setRegisterBroker(cmd).build();
  }

  /** An ISR change: checked here against the latest image, re-checked in apply with the same rules. */
  MetadataCommand alterPartition(PartitionAlteration r, MetadataImage image) {
    AlterPartitionRequest req = new AlterPartitionRequest(r.getTopic(), r.getPartition(), r.getLeaderId(),
        r.getLeaderBrokerEpoch(), r.getLeaderEpoch(), r.getPartitionEpoch(), r.getNewIsrList(),
        r.getAddedBrokerEpochsMap());
    // Validated here only to reject what no later state can make valid (a malformed ISR): the
    // epochs are checked in apply, on the state the entry is ordered after. This node's applied
    // image may lag behind entries already committed (even behind what the requesting broker
    // saw), and a verdict on stale epochs would block the partition leader for good.
    PartitionChanges.AlterCheck check = PartitionChanges.checkAlter(image, req);
    AlterPartition.Builder cmd = AlterPartition.newBuilder().setRequest(r);
    if (check.error() == ErrorCode.INVALID_REQUEST) {
      cmd.setErrorCode(check.error().getNumber()).setErrorMessage(check.message());
    }
    return MetadataCommand.newBuilder().setAlterPartition(cmd).build();
  }

  /** @throws IllegalArgumentException when the request is unreadable */
  MetadataCommand electLeaders(com.google.protobuf.ByteString request) {
    try {
      ElectLeadersRequest.parseFrom(request);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("unreadable ElectLeadersRequest: " + e.getMessage());
    }
    return MetadataCommand.newBuilder().setElectLeaders(ElectLeaders.newBuilder().setRequest(request)).build();
  }

  /** The controller's decisions are logged as they are: apply checks each against its state. */
  MetadataCommand controllerBatch(ControllerBatch batch) {
    return MetadataCommand.newBuilder().setControllerBatch(batch).build();
  }

  MetadataCommand deleteTopics(DeleteTopicsRequest req) {
    return MetadataCommand.newBuilder()
        .setDeleteTopics(DeleteTopics.newBuilder().addAllNames(req.getNamesList()))
        .build();
  }

  MetadataCommand createTopics(CreateTopicsRequest req, MetadataImage image) {
    return MetadataCommand.newBuilder()
        .setCreateTopics(CreateTopics.newBuilder()
            .addAllTopics(check(req, image, true))
            .setTimestampMs(clock.getAsLong()))
        .build();
  }

  /** validate_only: the answer creating the topics would give now, without ids; writes nothing. */
  CreateTopicsResponse validateOnly(CreateTopicsRequest req, MetadataImage image) {
    CreateTopicsResponse.Builder out = CreateTopicsResponse.newBuilder();
    for (TopicCreation t : check(req, image, false)) {
      out.addTopics(CreateTopicResult.newBuilder()
          .setName(t.getName())
          .setError(Records.error(t.getErrorCode(), t.getErrorMessage()))
          .setPartitions(t.getPartitionCount())
          .setReplicationFactor(t.getReplicationFactor()));
    }
    return out.build();
  }

  private List<TopicCreation> check(CreateTopicsRequest req, MetadataImage image, boolean assign) {
    // Only active brokers (unfenced, not shutting down) get replicas; racks spread them.
    Map<Integer, String> usable = new TreeMap<>();
    for (BrokerImage b : image.brokers().values()) {
      if (b.isActive()) usable.put(b.nodeId(), b.rack());
    }
    Set<String> seen = new HashSet<>();
    List<TopicCreation> out = new ArrayList<>(req.getTopicsCount());
    for (NewTopic t : req.getTopicsList()) {
      TopicCreation.Builder c = TopicCreation.newBuilder().setName(t.getName());
      // Unset takes the cluster default; a value that is set (0 included) is checked as given.
      int partitions = t.hasPartitions() ? t.getPartitions() : defaultPartitions;
      int rf = t.hasReplicationFactor() ? t.getReplicationFactor() : defaultReplicationFactor;
      String reason;
      if ((reason = TopicNames.invalidReason(t.getName())) != null) {
        reject(c, ErrorCode.INVALID_TOPIC, reason);
      } else if (!seen.add(t.getName())) {
        reject(c, ErrorCode.TOPIC_ALREADY_EXISTS, "topic '" + t.getName() + "' appears more than once in the request");
      } else if (image.topic(t.getName()) != null) {
        reject(c, ErrorCode.TOPIC_ALREADY_EXISTS, "topic '" + t.getName() + "' already exists");
      } else if (partitions < 1 || partitions > MAX_PARTITIONS) {
        reject(c, ErrorCode.INVALID_PARTITIONS,
            "partitions must be between 1 and " + MAX_PARTITIONS + " (leave it unset for the cluster default), got "
            + partitions);
      } else if (rf < 1 || rf > usable.size()) {
        reject(c, ErrorCode.INVALID_REPLICATION_FACTOR, "replication factor must be between 1 and the number of "
            + "available brokers (" + usable.size() + "), got " + rf);
      } else if ((reason = TopicConfig.invalidReason(t.getConfigsMap())) != null) {
        reject(c, ErrorCode.INVALID_CONFIG, reason);
      } else {
        c.setPartitionCount(partitions).setReplicationFactor(rf);
        if (assign) {
          c.setTopicId(ids.get()).putAllConfigs(t.getConfigsMap());
          for (List<Integer> replicas : PartitionPlacement.place(usable, partitions, rf, PartitionPlacement.seedFor(t.getName()))) {
            c.addPartitions(PartitionAssignment.newBuilder().addAllReplicas(replicas));
          }
        }
      }
      out.add(c.build());
    }
    return out;
  }

  private static void reject(TopicCreation.Builder c, ErrorCode code, String message) {
    c.setErrorCode(code.getNumber()).setErrorMessage(message);
  }
}
