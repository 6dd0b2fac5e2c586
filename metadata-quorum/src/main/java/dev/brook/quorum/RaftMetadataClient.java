package dev.brook.quorum;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.proto.v1.QuorumVoter;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
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
 * {@link MetadataClient} over a Ratis client bound to this node's group. Writes are sent with
 * {@code async().send} (the Ratis client finds the leader and retries; duplicates of a retried
 * request are filtered by the server's retry cache) and then wait until this node has applied the
 * entry, bounded as a whole by the request timeout. Thread-safe.
 */
final class RaftMetadataClient implements MetadataClient {
  private final RaftClient raft;
  private final RaftServer server;
  private final RaftGroupId groupId;
  private final ImagePublisher publisher;
  private final long timeoutMs;

  RaftMetadataClient(RaftClient raft, RaftServer server, RaftGroupId groupId, ImagePublisher publisher, long timeoutMs) {
    this.raft = raft;
    this.server = server;
    this.groupId = groupId;
    this.publisher = publisher;
    this.timeoutMs = timeoutMs;
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
        ? bounded(raft.async().sendReadOnly(toMessage(req)))
        : write(req);
    return reply.thenApply(r -> parse(r, CreateTopicsResponse::parseFrom));
  }

  @Override
  public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
    QuorumRequest req = QuorumRequest.newBuilder().setDeleteTopics(request.toByteString()).build();
    return write(req).thenApply(r -> parse(r, DeleteTopicsResponse::parseFrom));
  }

  @Override
  public CompletableFuture<Long> registerBroker(int nodeId, String address, String rack) {
    if (nodeId < 0) return CompletableFuture.failedFuture(new IllegalArgumentException("nodeId must be >= 0, got " + nodeId));
    if (address == null || address.isBlank()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("broker " + nodeId + " needs an address"));
    }
    QuorumRequest req = QuorumRequest.newBuilder()
        .setRegisterBroker(RegisterBrokerRequest.newBuilder().setNodeId(nodeId).setAddress(address)
            .setRack(rack == null ? "" : rack))
        .build();
    return write(req).thenApply(r -> parse(r, dev.brook.quorum.proto.RegisterBrokerReply::parseFrom).getBrokerEpoch());
  }

  @Override
  public CompletableFuture<HeartbeatResult> heartbeat(int nodeId, long brokerEpoch, boolean wantShutdown) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("step 2"));
  }

  @Override
  public CompletableFuture<AlterPartitionResult> alterPartition(AlterPartitionRequest request) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("step 2"));
  }

  @Override
  public CompletableFuture<dev.brook.proto.v1.ElectLeadersResponse> electLeaders(dev.brook.proto.v1.ElectLeadersRequest request) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("step 2"));
  }

  @Override
  public CompletableFuture<java.util.Map<Integer, Long>> heartbeatAgesMs() {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("step 2"));
  }

  @Override
  public void close() {
    // Closed with its MetadataQuorum.
  }

  /** Sends a write and completes once this node applied it. Used by the controller too. */
  CompletableFuture<RaftClientReply> write(QuorumRequest req) {
    CompletableFuture<RaftClientReply> sent = raft.async().send(toMessage(req)).thenCompose(r -> {
      if (!r.isSuccess()) return CompletableFuture.failedFuture(r.getException());
      return publisher.awaitVersion(r.getLogIndex()).thenApply(image -> r);
    });
    return bounded(sent);
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
    if (cause instanceof StateMachineException) {
      return new QuorumException(ErrorCode.INVALID_REQUEST, "the metadata quorum refused the request: " + cause.getMessage(), cause);
    }
    if (cause instanceof TimeoutException) {
      return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE,
          "the metadata quorum did not answer within " + timeoutMs + " ms", cause);
    }
    return new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata quorum is not available: " + cause, cause);
  }

  private static Message toMessage(QuorumRequest req) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(req.toByteArray()));
  }

  private interface Parser<T> {
    T parse(byte[] bytes) throws InvalidProtocolBufferException;
  }

  private static <T> T parse(RaftClientReply reply, Parser<T> parser) {
    try {
      return parser.parse(reply.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new QuorumException(ErrorCode.UNKNOWN_SERVER_ERROR, "unreadable reply from the metadata quorum", e);
    }
  }

  @Override
  public QuorumStatus status() {
    QuorumStatus.Builder b = QuorumStatus.newBuilder().setLeaderId(-1).setAppliedIndex(publisher.appliedIndex());
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
}
