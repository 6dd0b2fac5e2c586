package dev.brook.quorum.cluster;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.AlterPartitionResult;
import dev.brook.quorum.BrokerRegistration;
import dev.brook.quorum.GroupStateClient;
import dev.brook.quorum.HeartbeatResult;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.QuorumException;
import dev.brook.quorum.RegisteredBroker;
import dev.brook.quorum.RegistrationRefusedException;
import dev.brook.quorum.proto.AlterPartitionReply;
import dev.brook.quorum.proto.BrokerHeartbeatRequest;
import dev.brook.quorum.proto.HeartbeatAgesReply;
import dev.brook.quorum.proto.HeartbeatAgesRequest;
import dev.brook.quorum.proto.HeartbeatReply;
import dev.brook.quorum.proto.PartitionAlteration;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import dev.brook.quorum.raft.HeartbeatCopies;
import dev.brook.quorum.raft.QuorumCalls;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.protocol.RaftClientReply;

/**
 * {@link MetadataClient} over a Ratis client, for both a quorum node (image = the node's own
 * applied state) and a remote broker-only node (image = what its {@link ImageWatcher} fetched).
 *
 * <p>Calls go through {@link QuorumCalls} (bounded by the request timeout, failures mapped to
 * QuorumException, over a client that reconnects after any outage). Writes complete once the
 * entry is visible in {@link #image()}; heartbeats and heartbeat ages are leader reads, retried
 * briefly while a new leader's controller is not active yet. Thread-safe.
 */
public final class RaftMetadataClient implements MetadataClient {
  private final QuorumCalls calls;
  private final ImagePublisher publisher;
  private final Supplier<QuorumStatus> status;
  private final Runnable afterWrite;
  private final AutoCloseable resources;
  private final GroupStateClient groups;
  private final HeartbeatCopies copies;

  /**
   * @param status how {@link #status()} is answered
   * @param afterWrite called when a write was committed (a remote client refreshes its image)
   * @param resources closed by {@link #close()}; null for a quorum node's own client
   * @param groups the group domain's client, over the same calls
   * @param copies where each heartbeat is also copied to every voter (null: nowhere); owned by
   *     the caller
   */
  public RaftMetadataClient(QuorumCalls calls, ImagePublisher publisher, Supplier<QuorumStatus> status,
      Runnable afterWrite, AutoCloseable resources, GroupStateClient groups, HeartbeatCopies copies) {
    this.calls = calls;
    this.copies = copies;
    this.groups = groups;
    this.publisher = publisher;
    this.status = status;
    this.afterWrite = afterWrite;
    this.resources = resources;
  }

  @Override
  public MetadataImage image() {
    return publisher.current();
  }

  @Override
  public void addListener(Consumer<MetadataImage> listener) {
    publisher.addListener(listener);
  }

  @Override
  public CompletableFuture<MetadataImage> awaitVersion(long version) {
    return publisher.awaitVersion(version);
  }

  @Override
  public CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setCreateTopics(request.toByteString()).build();
    CompletableFuture<RaftClientReply> reply = request.getValidateOnly()
        ? calls.linearizableRead(req)
        : write(req);
    return reply.thenApply(r -> QuorumCalls.parse(r, CreateTopicsResponse::parseFrom));
  }

  @Override
  public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setDeleteTopics(request.toByteString()).build();
    return write(req).thenApply(r -> QuorumCalls.parse(r, DeleteTopicsResponse::parseFrom));
  }

  @Override
  public CompletableFuture<RegisteredBroker> register(BrokerRegistration reg) {
    int nodeId = reg.nodeId();
    if (nodeId < 0) return CompletableFuture.failedFuture(new IllegalArgumentException("nodeId must be >= 0, got " + nodeId));
    if (reg.address() == null || reg.address().isBlank()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("broker " + nodeId + " needs an address"));
    }
    QuorumRequest req = QuorumRequest.newBuilder()
        .setRegisterBroker(RegisterBrokerRequest.newBuilder().setNodeId(nodeId).setAddress(reg.address())
            .setRack(reg.rack()).setIncarnationId(reg.incarnationId()).setClusterId(reg.clusterId()))
        .build();
    return write(req).thenApply(r -> {
      RegisterBrokerReply reply = QuorumCalls.parse(r, RegisterBrokerReply::parseFrom);
      switch (reply.getRefusal()) {
        case REGISTRATION_ACCEPTED:
          return new RegisteredBroker(reply.getBrokerEpoch(), reply.getClusterId());
        case NODE_ID_IN_USE:
          throw new RegistrationRefusedException(RegistrationRefusedException.Reason.NODE_ID_IN_USE, reply.getRefusalMessage());
        case CLUSTER_ID_MISMATCH:
          throw new RegistrationRefusedException(RegistrationRefusedException.Reason.CLUSTER_ID_MISMATCH,
              reply.getRefusalMessage());
        default:
          throw new QuorumException(ErrorCode.UNKNOWN_SERVER_ERROR,
              "registration refused for an unknown reason " + reply.getRefusalValue() + ": " + reply.getRefusalMessage());
      }
    });
  }

  @Override
  public CompletableFuture<HeartbeatResult> heartbeat(int nodeId, long brokerEpoch, boolean wantShutdown) {
    BrokerHeartbeatRequest hb = BrokerHeartbeatRequest.newBuilder().setNodeId(nodeId).setBrokerEpoch(brokerEpoch)
        .setWantShutdown(wantShutdown).build();
    QuorumRequest req = QuorumRequest.newBuilder().setHeartbeat(hb).build();
    // Every voter learns of the contact too, so that a new leader knows how long ago it was.
    if (copies != null) copies.send(QuorumRequest.newBuilder().setHeartbeatCopy(hb).build());
    return calls.leaderRead(req).thenApply(r -> {
      HeartbeatReply h = QuorumCalls.parse(r, HeartbeatReply::parseFrom);
      ErrorCode code = ErrorCode.forNumber(h.getErrorCode());
      return new HeartbeatResult(code == null ? ErrorCode.UNKNOWN_SERVER_ERROR : code, h.getFenced(), h.getShutdownReady());
    });
  }

  @Override
  public CompletableFuture<AlterPartitionResult> alterPartition(AlterPartitionRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder()
        .setAlterPartition(PartitionAlteration.newBuilder()
            .setTopic(request.topic()).setPartition(request.partition()).setLeaderId(request.leaderId())
            .setLeaderBrokerEpoch(request.leaderBrokerEpoch()).setLeaderEpoch(request.leaderEpoch())
            .setPartitionEpoch(request.partitionEpoch()).addAllNewIsr(request.newIsr())
            .putAllAddedBrokerEpochs(request.addedBrokerEpochs()))
        .build();
    return write(req).thenApply(r -> {
      AlterPartitionReply a = QuorumCalls.parse(r, AlterPartitionReply::parseFrom);
      ErrorCode code = ErrorCode.forNumber(a.getErrorCode());
      PartitionImage p = a.hasPartition() ? Records.toPartitionImage(a.getPartition()) : null;
      return new AlterPartitionResult(code == null ? ErrorCode.UNKNOWN_SERVER_ERROR : code, a.getErrorMessage(), p);
    });
  }

  @Override
  public CompletableFuture<ElectLeadersResponse> electLeaders(ElectLeadersRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setElectLeaders(request.toByteString()).build();
    return write(req).thenApply(r -> QuorumCalls.parse(r, ElectLeadersResponse::parseFrom));
  }

  @Override
  public CompletableFuture<Map<Integer, Long>> heartbeatAgesMs() {
    QuorumRequest req = QuorumRequest.newBuilder().setHeartbeatAges(HeartbeatAgesRequest.getDefaultInstance()).build();
    return calls.leaderRead(req).thenApply(r -> Map.copyOf(QuorumCalls.parse(r, HeartbeatAgesReply::parseFrom).getAgesMsMap()));
  }

  /** Sends a write and completes once it is visible in this client's image. Used by the controller too. */
  public CompletableFuture<RaftClientReply> write(QuorumRequest req) {
    return calls.write(req, r -> {
      afterWrite.run();
      return publisher.awaitVersion(r.getLogIndex());
    });
  }

  @Override
  public GroupStateClient groups() {
    return groups;
  }

  @Override
  public QuorumStatus status() {
    return status.get();
  }

  @Override
  public void close() {
    if (calls.isClosed() || resources == null) return;
    calls.close();
    try {
      resources.close();
    } catch (Exception e) {
      // best effort: nothing more to release
    }
  }
}
