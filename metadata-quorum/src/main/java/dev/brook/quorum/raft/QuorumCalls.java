package dev.brook.quorum.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.QuorumException;
import dev.brook.quorum.proto.QuorumRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The three ways a client of any domain talks to the quorum, each bounded as a whole by the
 * request timeout and failing only with a {@link QuorumException}:
 * <ul>
 *   <li>{@link #write}: {@code async().send} (the Ratis client finds the leader and retries;
 *       duplicates of a retried request are filtered by the server's retry cache), then a
 *       caller-given wait (e.g. until the entry is visible locally);
 *   <li>{@link #leaderRead}: a non-linearizable read, which Ratis serves on the ready leader only,
 *       retried briefly while the new leader's duties are not active yet
 *       ({@link NotActiveLeaderException});
 *   <li>{@link #linearizableRead}: a ReadIndex read, served once the answering node applied the
 *       leader's commit index.
 * </ul>
 * Every call goes through a {@link ReconnectingClient}, so a quorum that was gone for a long time
 * is usable again as soon as it is back. Thread-safe.
 */
public final class QuorumCalls {
  private static final long NOT_ACTIVE_RETRY_MS = 100;

  private final ReconnectingClient<RaftClient> raft;
  private final long timeoutMs;
  private volatile boolean closed;

  public QuorumCalls(ReconnectingClient<RaftClient> raft, long timeoutMs) {
    this.raft = raft;
    this.timeoutMs = timeoutMs;
  }

  public long timeoutMs() {
    return timeoutMs;
  }

  /** Commits {@code req}; the result completes when {@code afterCommit} of the reply does. */
  public CompletableFuture<RaftClientReply> write(QuorumRequest req,
      Function<RaftClientReply, CompletableFuture<?>> afterCommit) {
    if (closed) return CompletableFuture.failedFuture(closedException());
    CompletableFuture<RaftClientReply> sent = raft.call(c -> c.async().send(toMessage(req)));
    return giveUpOnFailure(bounded(sent.thenCompose(r -> {
      if (!r.isSuccess()) return CompletableFuture.failedFuture(r.getException());
      return afterCommit.apply(r).thenApply(ignored -> r);
    })), sent);
  }

  /** A read that only the ready leader with active duties answers. */
  public CompletableFuture<RaftClientReply> leaderRead(QuorumRequest req) {
    if (closed) return CompletableFuture.failedFuture(closedException());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    CompletableFuture<RaftClientReply> out = new CompletableFuture<>();
    attempt(req, deadline, out);
    return bounded(out);
  }

  /** A linearizable (ReadIndex) read. */
  public CompletableFuture<RaftClientReply> linearizableRead(QuorumRequest req) {
    if (closed) return CompletableFuture.failedFuture(closedException());
    CompletableFuture<RaftClientReply> sent = raft.call(c -> c.async().sendReadOnly(toMessage(req)));
    return giveUpOnFailure(bounded(sent), sent);
  }

  private void attempt(QuorumRequest req, long deadlineNanos, CompletableFuture<RaftClientReply> out) {
    if (out.isDone()) return; // timed out while waiting to retry
    CompletableFuture<RaftClientReply> sent = raft.call(c -> c.async().sendReadOnlyNonLinearizable(toMessage(req)));
    giveUpOnFailure(out, sent);
    sent.whenComplete((r, e) -> {
      Throwable error = e != null ? e : (r != null && !r.isSuccess() ? r.getException() : null);
      if (error == null) {
        out.complete(r);
      } else if (NotActiveLeaderException.isCauseOf(error) && !closed
          && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NOT_ACTIVE_RETRY_MS) < deadlineNanos) {
        Executor later = CompletableFuture.delayedExecutor(NOT_ACTIVE_RETRY_MS, TimeUnit.MILLISECONDS);
        later.execute(() -> attempt(req, deadlineNanos, out));
      } else {
        out.completeExceptionally(error);
      }
    });
  }

  /**
   * When {@code out} fails (its timeout), {@code sent} is cancelled: a call still waiting in the
   * client's {@link CallWindow} is then never started. Returns {@code out}.
   */
  private static <T> CompletableFuture<T> giveUpOnFailure(CompletableFuture<T> out, CompletableFuture<?> sent) {
    out.whenComplete((r, e) -> {
      if (e != null) sent.cancel(false);
    });
    return out;
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
    if (NotActiveLeaderException.isCauseOf(cause)) {
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

  /** Refuses every later call; calls in flight finish. */
  public void close() {
    closed = true;
  }

  public boolean isClosed() {
    return closed;
  }

  public static Message toMessage(QuorumRequest req) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(req.toByteArray()));
  }

  /** A protobuf parser of a reply's content. */
  @FunctionalInterface
  public interface Parser<T> {
    T parse(byte[] bytes) throws InvalidProtocolBufferException;
  }

  /** The reply's content parsed; an unreadable one is an UNKNOWN_SERVER_ERROR. */
  public static <T> T parse(RaftClientReply reply, Parser<T> parser) {
    try {
      return parser.parse(reply.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new QuorumException(ErrorCode.UNKNOWN_SERVER_ERROR, "unreadable reply from the metadata quorum", e);
    }
  }
}
