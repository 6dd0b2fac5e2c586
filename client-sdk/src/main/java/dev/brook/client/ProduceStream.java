package dev.brook.client;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.PartitionProduceData;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceRequest;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.proto.v1.ProduceServiceGrpc;
import dev.brook.proto.v1.TopicProduceData;
import dev.brook.proto.v1.TopicProduceResult;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The one long-lived Produce stream to one broker.
 *
 * <p>Threading: only the sender thread writes to the stream ({@link #send}, {@link #abort},
 * {@link #close}); gRPC delivers answers on its callback executor ({@link #onNext} etc.), which
 * hands each partition result to {@link Sender#onPartitionResult}. The in-flight table is a
 * concurrent map ordered by correlation id, so a failed stream gives its batches back oldest
 * first, and each request is settled exactly once (whoever removes it settles it).
 */
final class ProduceStream implements ClientResponseObserver<ProduceRequest, ProduceResponse> {
  /** A request waiting for its answer. */
  record InFlight(long correlationId, List<ProducerBatch> batches, long sentMs) {}

  final String address;
  private final Sender sender;
  private final ConcurrentSkipListMap<Long, InFlight> inFlight = new ConcurrentSkipListMap<>();
  private volatile ClientCallStreamObserver<ProduceRequest> requests;
  private volatile boolean dead;
  private long nextCorrelationId;

  ProduceStream(String address, Sender sender) {
    this.address = address;
    this.sender = sender;
  }

  /** Opens the stream on {@code stub} (sender thread). */
  void start(ProduceServiceGrpc.ProduceServiceStub stub) {
    stub.produce(this);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ProduceRequest> requestStream) {
    this.requests = requestStream;
    // Outbound flow control: when gRPC's buffer drains, let the sender write again.
    requestStream.setOnReadyHandler(sender::wakeup);
  }

  boolean isDead() {
    return dead;
  }

  /** Whether another request may go out now: window open and fewer than max unanswered. */
  boolean canSend(int maxInFlight) {
    return !dead && inFlight.size() < maxInFlight && requests.isReady();
  }

  int inFlightCount() {
    return inFlight.size();
  }

  /** Send time of the oldest unanswered request, or -1. */
  long oldestSentMs() {
    Map.Entry<Long, InFlight> first = inFlight.firstEntry();
    return first == null ? -1 : first.getValue().sentMs();
  }

  /** Writes one request with the batches (one per partition). Sender thread only. */
  void send(List<ProducerBatch> batches, Acks acks, int timeoutMs, String clientId, long nowMs) {
    long id = ++nextCorrelationId;
    ProduceRequest.Builder req = ProduceRequest.newBuilder()
        .setCorrelationId(id).setAcks(acks).setTimeoutMs(timeoutMs).setClientId(clientId);
    Map<String, TopicProduceData.Builder> byTopic = new LinkedHashMap<>();
    for (ProducerBatch b : batches) {
      byTopic.computeIfAbsent(b.tp.topic(), t -> TopicProduceData.newBuilder().setTopic(t))
          .addPartitions(PartitionProduceData.newBuilder().setPartition(b.tp.partition()).addBatches(b.wire()));
    }
    for (TopicProduceData.Builder t : byTopic.values()) req.addTopics(t);
    if (acks != Acks.ACKS_NONE) inFlight.put(id, new InFlight(id, batches, nowMs));
    requests.onNext(req.build());
    // The stream may have failed between canSend() and here; its failAll() could have run
    // before this request was registered, so settle it now rather than at the request timeout.
    if (dead) failAll(BrookException.transport("produce stream to " + address + " failed", null, true));
  }

  @Override
  public void onNext(ProduceResponse response) {
    InFlight f = inFlight.remove(response.getCorrelationId());
    if (f == null) return;   // already settled by a timeout
    List<ProducerBatch> pending = new ArrayList<>(f.batches());
    for (TopicProduceResult t : response.getTopicsList()) {
      for (PartitionProduceResult p : t.getPartitionsList()) {
        ProducerBatch match = null;
        for (int i = 0; i < pending.size(); i++) {
          ProducerBatch b = pending.get(i);
          if (b.tp.partition() == p.getPartition() && b.tp.topic().equals(t.getTopic())) {
            match = pending.remove(i);
            break;
          }
        }
        if (match != null) sender.onPartitionResult(this, match, p.getError(), p.getBaseOffset());
      }
    }
    for (ProducerBatch b : pending) {
      sender.onBatchFailed(b, BrookException.transport(
          "broker " + address + " left " + b.tp + " out of its produce response", null, true));
    }
    sender.wakeup();
  }

  @Override
  public void onError(Throwable t) {
    dead = true;
    failAll(BrookException.transport("produce stream to " + address + " failed: " + Status.fromThrowable(t), t, true));
  }

  @Override
  public void onCompleted() {
    dead = true;
    failAll(BrookException.transport("broker " + address + " closed the produce stream", null, true));
  }

  /** Gives every unanswered batch back to the sender, oldest first. */
  private void failAll(BrookException e) {
    Map.Entry<Long, InFlight> first;
    while ((first = inFlight.pollFirstEntry()) != null) {
      for (ProducerBatch b : first.getValue().batches()) sender.onBatchFailed(b, e);
    }
    sender.wakeup();
  }

  /** Cancels the stream (request timeout); unanswered batches are retried. Sender thread only. */
  void abort(String reason) {
    dead = true;
    try {
      requests.onError(Status.CANCELLED.withDescription(reason).asRuntimeException());
    } catch (RuntimeException ignored) {
      // already closed
    }
    failAll(BrookException.transport("produce to " + address + ": " + reason, null, true));
  }

  /** Half-closes the stream after the last answer (sender thread). */
  void close() {
    if (dead) return;
    dead = true;
    try {
      requests.onCompleted();
    } catch (RuntimeException ignored) {
      // already cancelled
    }
  }
}
