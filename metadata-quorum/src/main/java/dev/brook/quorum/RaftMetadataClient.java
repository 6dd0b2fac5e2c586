package dev.brook.quorum;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.proto.v1.QuorumVoter;
import dev.brook.quorum.proto.AlterPartitionReply;
import dev.brook.quorum.proto.BrokerHeartbeatRequest;
import dev.brook.quorum.proto.HeartbeatAgesReply;
import dev.brook.quorum.proto.HeartbeatAgesRequest;
import dev.brook.quorum.proto.HeartbeatReply;
import dev.brook.quorum.proto.PartitionAlteration;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * {@link MetadataClient} over a Ratis client, for both a quorum node (image = the node's own
 * applied state) and a remote broker-only node (image = what its {@link ImageWatcher} fetched).
 *
 * <p>Writes are sent with {@code async().send} (the Ratis client finds the leader and retries;
 * duplicates of a retried request are filtered by the server's retry cache) and complete once
 * the entry is visible in {@link #image()}, bounded as a whole by the request timeout.
 * Heartbeats and heartbeat ages are non-linearizable reads (Ratis serves them on the ready
 * leader only), retried briefly while the new leader's controller is not active yet.
 *
 * <p>Every call goes through a {@link ReconnectingClient}: a Ratis client that broke (an outage
 * of the quorum longer than its retry policy closes its request window for good) is replaced
 * with back-off, so this client works again as soon as a quorum is back, however long it was
 * gone. Thread-safe.
 */
final class RaftMetadataClient implements MetadataClient {
  private static final long NOT_CONTROLLER_RETRY_MS = 100;

  private final ReconnectingClient<RaftClient> raft;
  private final ImagePublisher publisher;
  private final long timeoutMs;
  private final Supplier<QuorumStatus> status;
  private final Runnable afterWrite;
  private final AutoCloseable resources;
  private volatile boolean closed;

  /**
   * @param status how {@link #status()} is answered
   * @param afterWrite called when a write was committed (a remote client refreshes its image)
   * @param resources closed by {@link #close()}; null for a quorum node's own client
   */
  RaftMetadataClient(ReconnectingClient<RaftClient> raft, ImagePublisher publisher, long timeoutMs, Supplier<QuorumStatus> status,
      Runnable afterWrite, AutoCloseable resources) {
    this.raft = raft;
    this.publisher = publisher;
    this.timeoutMs = timeoutMs;
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
        ? bounded(raft.call(c -> c.async().sendReadOnly(toMessage(req))))
        : write(req);
    return reply.thenApply(r -> parse(r, CreateTopicsResponse::parseFrom));
  }

  @Override
  public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setDeleteTopics(request.toByteString()).build();
    return write(req).thenApply(r -> parse(r, DeleteTopicsResponse::parseFrom));
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
      RegisterBrokerReply reply = parse(r, RegisterBrokerReply::parseFrom);
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
    QuorumRequest req = QuorumRequest.newBuilder()
        .setHeartbeat(BrokerHeartbeatRequest.newBuilder().setNodeId(nodeId).setBrokerEpoch(brokerEpoch)
            .setWantShutdown(wantShutdown))
        .build();
    return leaderQuery(req).thenApply(r -> {
      HeartbeatReply h = parse(r, HeartbeatReply::parseFrom);
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
      AlterPartitionReply a = parse(r, AlterPartitionReply::parseFrom);
      ErrorCode code = ErrorCode.forNumber(a.getErrorCode());
      PartitionImage p = a.hasPartition() ? Records.toPartitionImage(a.getPartition()) : null;
      return new AlterPartitionResult(code == null ? ErrorCode.UNKNOWN_SERVER_ERROR : code, a.getErrorMessage(), p);
    });
  }

  @Override
  public CompletableFuture<ElectLeadersResponse> electLeaders(ElectLeadersRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setElectLeaders(request.toByteString()).build();
    return write(req).thenApply(r -> parse(r, ElectLeadersResponse::parseFrom));
  }

  @Override
  public CompletableFuture<Map<Integer, Long>> heartbeatAgesMs() {
    QuorumRequest req = QuorumRequest.newBuilder().setHeartbeatAges(HeartbeatAgesRequest.getDefaultInstance()).build();
    return leaderQuery(req).thenApply(r -> Map.copyOf(parse(r, HeartbeatAgesReply::parseFrom).getAgesMsMap()));
  }

  /** Sends a write and completes once it is visible in this client's image. Used by the controller too. */
  CompletableFuture<RaftClientReply> write(QuorumRequest req) {
    if (closed) return CompletableFuture.failedFuture(closedException());
    CompletableFuture<RaftClientReply> sent = raft.call(c -> c.async().send(toMessage(req))).thenCompose(r -> {
      if (!r.isSuccess()) return CompletableFuture.failedFuture(r.getException());
      afterWrite.run();
      return publisher.awaitVersion(r.getLogIndex()).thenApply(image -> r);
    });
    return bounded(sent);
  }

  /**
   * A read that only the active controller answers. A leader that has not activated its
   * controller yet (just elected) answers "not the active controller": retried until the timeout.
   */
  private CompletableFuture<RaftClientReply> leaderQuery(QuorumRequest req) {
    if (closed) return CompletableFuture.failedFuture(closedException());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    CompletableFuture<RaftClientReply> out = new CompletableFuture<>();
    attempt(req, deadline, out);
    return bounded(out);
  }

  private void attempt(QuorumRequest req, long deadlineNanos, CompletableFuture<RaftClientReply> out) {
    raft.call(c -> c.async().sendReadOnlyNonLinearizable(toMessage(req))).whenComplete((r, e) -> {
      Throwable error = e != null ? e : (r != null && !r.isSuccess() ? r.getException() : null);
      if (error == null) {
        out.complete(r);
      } else if (isNotController(error) && !closed
          && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NOT_CONTROLLER_RETRY_MS) < deadlineNanos) {
        Executor later = CompletableFuture.delayedExecutor(NOT_CONTROLLER_RETRY_MS, TimeUnit.MILLISECONDS);
        later.execute(() -> attempt(req, deadlineNanos, out));
      } else {
        out.completeExceptionally(error);
      }
    });
  }

  private static boolean isNotController(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof QuorumController.NotControllerException) return true;
      if (t instanceof StateMachineException && String.valueOf(t.getMessage()).contains("not the active metadata controller")) {
        return true;
      }
    }
    return false;
  }

  /** Bounds a call by the request timeout and maps every failure to a QuorumException. */
  private CompletableFuture<RaftClientReply> bounded(CompletableFuture<RaftClientReply> call) {
    CompletableFuture<RaftClientReply> out = new CompletableFuture<>();
    call.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
      if (e == null && r != null && !r.isSuccess()) e = r.getException();
      if (e == null) {
        out.complete(r);
      } else {
        out.completeExceptionally(toQuorumException(e));
      }
    });
    return out;
  }

  private QuorumException toQuorumException(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof QuorumException q) return q;
    if (isNotController(cause)) {
      return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata quorum has no active controller yet", cause);
    }
    if (cause instanceof StateMachineException) {
      return new QuorumException(ErrorCode.INVALID_REQUEST, "the metadata quorum refused the request: " + cause.getMessage(), cause);
    }
    if (cause instanceof TimeoutException) {
      return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE,
          "the metadata quorum did not answer within " + timeoutMs + " ms", cause);
    }
    return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata quorum is not available: " + cause, cause);
  }

  private static QuorumException closedException() {
    return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata client is closed");
  }

  static Message toMessage(QuorumRequest req) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(req.toByteArray()));
  }

  interface Parser<T> {
    T parse(byte[] bytes) throws InvalidProtocolBufferException;
  }

  static <T> T parse(RaftClientReply reply, Parser<T> parser) {
    try {
      return parser.parse(reply.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new QuorumException(ErrorCode.UNKNOWN_SERVER_ERROR, "unreadable reply from the metadata quorum", e);
    }
  }

  @Override
  public QuorumStatus status() {
    return status.get();
  }

  /** The quorum as the local Ratis server {@code server} sees it; leader -1 when it knows none. */
  static QuorumStatus statusOf(RaftServer server, RaftGroupId groupId, long appliedFallback) {
    QuorumStatus.Builder b = QuorumStatus.newBuilder().setLeaderId(-1).setAppliedIndex(appliedFallback);
    try {
      RaftServer.Division d = server.getDivision(groupId);
      RaftPeerId leader = d.getInfo().getLeaderId();
      b.setLeaderId(leader == null ? -1 : Integer.parseInt(leader.toString()));
      b.setTerm(d.getInfo().getCurrentTerm());
      b.setCommitIndex(d.getRaftLog().getLastCommittedIndex());
      b.setAppliedIndex(d.getInfo().getLastAppliedIndex());
      for (RaftPeer p : d.getRaftConf().getCurrentPeers()) {
        b.addVoters(QuorumVoter.newBuilder().setNodeId(Integer.parseInt(p.getId().toString())).setAddress(p.getAddress()));
      }
    } catch (IOException | RuntimeException e) {
      // A closed or not yet started server: report what is known (no leader).
    }
    return b.build();
  }

  @Override
  public void close() {
    if (closed || resources == null) return;
    closed = true;
    try {
      resources.close();
    } catch (Exception e) {
      // best effort: nothing more to release
    }
  }
}
