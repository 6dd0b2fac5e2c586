package dev.brook.quorum.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.proto.BrokerHeartbeatRequest;
import dev.brook.quorum.proto.FetchImageReply;
import dev.brook.quorum.proto.HeartbeatAgesReply;
import dev.brook.quorum.proto.MetadataCommand.CommandCase;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.QuorumRequest.RequestCase;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.raft.QuorumDomain;
import dev.brook.quorum.raft.StoreReader;
import dev.brook.quorum.raft.StoreWriter;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The cluster domain: brokers, topics, partitions and the controller, behind one face. Requests
 * are validated by {@link RequestValidator}, commands applied by {@link MetadataApplier} (pure),
 * stored in {@link ClusterStore}'s families, and each new {@link MetadataImage} handed to readers
 * by the {@link ImagePublisher} once its entry is durable. The {@link QuorumController} is its
 * leader duty (leases, fencing, elections).
 *
 * <p>Threading: {@code published} is written by the apply thread only (load, apply's publish,
 * advanceApplied) and read by any thread; it pairs the image with the applied index it is
 * current at, so an image fetch never reports an index whose image it does not contain.
 */
public final class ClusterDomain implements QuorumDomain {
  private static final Set<RequestCase> WRITES = EnumSet.of(RequestCase.CREATE_TOPICS, RequestCase.DELETE_TOPICS,
      RequestCase.REGISTER_BROKER, RequestCase.INITIALIZE_CLUSTER, RequestCase.ALTER_PARTITION, RequestCase.ELECT_LEADERS,
      RequestCase.CONTROLLER_BATCH);
  private static final Set<RequestCase> READS = EnumSet.of(RequestCase.CREATE_TOPICS, RequestCase.HEARTBEAT,
      RequestCase.HEARTBEAT_COPY, RequestCase.HEARTBEAT_AGES, RequestCase.FETCH_IMAGE);
  private static final Set<CommandCase> COMMANDS = EnumSet.of(CommandCase.INITIALIZE_CLUSTER, CommandCase.REGISTER_BROKER,
      CommandCase.CREATE_TOPICS, CommandCase.DELETE_TOPICS, CommandCase.CONTROLLER_BATCH, CommandCase.ALTER_PARTITION,
      CommandCase.ELECT_LEADERS);

  /** An image and the applied index it is current at. */
  private record Published(MetadataImage image, long appliedIndex) {}

  private final RequestValidator validator;
  private final MetadataApplier applier = new MetadataApplier();
  private final ImagePublisher publisher;
  private final QuorumController controller;
  private volatile Published published = new Published(MetadataImage.EMPTY, -1);

  public ClusterDomain(RequestValidator validator, ImagePublisher publisher, QuorumController controller) {
    this.validator = validator;
    this.publisher = publisher;
    this.controller = controller;
  }

  @Override
  public String name() {
    return "cluster";
  }

  @Override
  public List<String> columnFamilies() {
    return ClusterStore.FAMILIES;
  }

  @Override
  public Set<RequestCase> writeRequests() {
    return WRITES;
  }

  @Override
  public Set<RequestCase> readRequests() {
    return READS;
  }

  @Override
  public Set<CommandCase> commands() {
    return COMMANDS;
  }

  /** The image as of the last applied entry on this node. */
  public MetadataImage image() {
    return published.image();
  }

  @Override
  public void load(StoreReader store, long version, long appliedIndex) throws IOException {
    MetadataImage image = ClusterStore.load(store, version);
    published = new Published(image, appliedIndex);
    publisher.publish(image, appliedIndex);
  }

  @Override
  public MetadataCommand validate(QuorumRequest req) throws InvalidProtocolBufferException {
    MetadataImage current = published.image();
    return switch (req.getRequestCase()) {
      case CREATE_TOPICS -> validator.createTopics(CreateTopicsRequest.parseFrom(req.getCreateTopics()), current);
      case DELETE_TOPICS -> validator.deleteTopics(DeleteTopicsRequest.parseFrom(req.getDeleteTopics()));
      case REGISTER_BROKER -> validator.registerBroker(req.getRegisterBroker(), current);
      case INITIALIZE_CLUSTER -> validator.initializeCluster();
      case ALTER_PARTITION -> validator.alterPartition(req.getAlterPartition(), current);
      case ELECT_LEADERS -> validator.electLeaders(req.getElectLeaders());
      case CONTROLLER_BATCH -> validator.controllerBatch(req.getControllerBatch());
      default -> throw new IllegalArgumentException(req.getRequestCase() + " is not a cluster write");
    };
  }

  /**
   * CreateTopics with validate_only and image fetches (linearizable reads), heartbeats and
   * heartbeat ages (the active controller answers them from memory), heartbeat copies (any
   * voter records them, see {@link BrokerHeartbeatManager}).
   */
  @Override
  public CompletableFuture<? extends MessageLite> query(QuorumRequest req) throws InvalidProtocolBufferException {
    return switch (req.getRequestCase()) {
      case CREATE_TOPICS ->
          CompletableFuture.completedFuture(validator.validateOnly(CreateTopicsRequest.parseFrom(req.getCreateTopics()), image()));
      case HEARTBEAT -> {
        BrokerHeartbeatRequest hb = req.getHeartbeat();
        yield controller.heartbeat(hb.getNodeId(), hb.getBrokerEpoch(), hb.getWantShutdown());
      }
      case HEARTBEAT_COPY -> controller.heartbeatCopy(req.getHeartbeatCopy().getNodeId(), req.getHeartbeatCopy().getBrokerEpoch());
      case HEARTBEAT_AGES ->
          controller.heartbeatAges().thenApply(ages -> HeartbeatAgesReply.newBuilder().putAllAgesMs(ages).build());
      case FETCH_IMAGE -> CompletableFuture.completedFuture(fetchImage(req.getFetchImage().getKnownVersion()));
      default -> CompletableFuture.failedFuture(new IllegalArgumentException(req.getRequestCase() + " is not a cluster read"));
    };
  }

  private FetchImageReply fetchImage(long knownVersion) {
    Published p = published;
    FetchImageReply.Builder reply = FetchImageReply.newBuilder().setAppliedIndex(p.appliedIndex());
    if (p.image().version() != knownVersion) reply.setImage(Records.toSnapshot(p.image()));
    return reply.build();
  }

  @Override
  public Applied apply(MetadataCommand command, long index, StoreWriter writes) throws IOException {
    MetadataImage before = published.image();
    MetadataApplier.Result result = applier.apply(before, command, index);
    ClusterStore.write(result.delta(), writes);
    MetadataImage after = result.image();
    return new Applied(result.reply(), after != before, () -> {
      published = new Published(after, index);
      publisher.publish(after, index);
    });
  }

  @Override
  public void advanceApplied(long index) {
    published = new Published(published.image(), index);
    publisher.advanceApplied(index);
  }

  @Override
  public void onLeaderReady() {
    controller.onLeaderReady();
  }

  @Override
  public void onNotLeader() {
    controller.onNotLeader();
  }
}
