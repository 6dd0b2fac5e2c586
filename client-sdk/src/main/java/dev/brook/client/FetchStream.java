package dev.brook.client;

import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.Map;
import java.util.concurrent.BlockingQueue;

/**
 * The long-lived Fetch stream to one broker, with at most one fetch in flight (the consumer's
 * memory bound). The consumer thread writes; gRPC callback threads put each answer (or the
 * stream's failure) on the consumer's queue, where {@code poll} picks it up.
 */
final class FetchStream implements ClientResponseObserver<FetchRequest, FetchResponse> {
  /** A fetch in flight: what it asked for, to match the answer against current positions. */
  record Pending(long correlationId, Map<TopicPartition, Long> offsets, long sentMs) {}

  /** An answer, or (response null) the stream's failure, for the consumer thread. */
  record Completed(FetchStream stream, Pending pending, FetchResponse response, Throwable error) {}

  final String address;
  private final BlockingQueue<Object> completed;
  private volatile ClientCallStreamObserver<FetchRequest> requests;
  private volatile Pending pending;
  private volatile boolean dead;
  private long nextCorrelationId;

  FetchStream(String address, BlockingQueue<Object> completed) {
    this.address = address;
    this.completed = completed;
  }

  void start(FetchServiceGrpc.FetchServiceStub stub) {
    stub.fetch(this);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<FetchRequest> requestStream) {
    this.requests = requestStream;
  }

  boolean isDead() {
    return dead;
  }

  boolean hasPending() {
    return pending != null;
  }

  Pending pending() {
    return pending;
  }

  /** Consumer thread only. */
  void send(FetchRequest.Builder request, Map<TopicPartition, Long> offsets, long nowMs) {
    long id = ++nextCorrelationId;
    pending = new Pending(id, offsets, nowMs);
    requests.onNext(request.setCorrelationId(id).build());
  }

  @Override
  public void onNext(FetchResponse response) {
    Pending p = pending;
    if (p == null || p.correlationId() != response.getCorrelationId()) return;
    pending = null;
    completed.add(new Completed(this, p, response, null));
  }

  @Override
  public void onError(Throwable t) {
    fail(t);
  }

  @Override
  public void onCompleted() {
    fail(Status.UNAVAILABLE.withDescription("broker " + address + " closed the fetch stream").asRuntimeException());
  }

  private void fail(Throwable t) {
    if (dead) return;
    dead = true;
    Pending p = pending;
    pending = null;
    completed.add(new Completed(this, p, null, t));
  }

  /** Cancels the stream (timeout or close). Consumer thread only. */
  void cancel(String reason) {
    if (dead) return;
    try {
      requests.onError(Status.CANCELLED.withDescription(reason).asRuntimeException());
    } catch (RuntimeException ignored) {
      // already closed
    }
    fail(Status.CANCELLED.withDescription(reason).asRuntimeException());
  }
}
