package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.PartitionProduceData;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceRequest;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.proto.v1.ProduceServiceGrpc;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import dev.brook.proto.v1.TopicProduceData;
import dev.brook.protocol.StoredBatch;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The raw gRPC produce and fetch API as cluster tests drive it: hand-built record batches,
 * produce streams whose every event is kept, and reads below the high watermark.
 */
final class RawClient {
  private static final AtomicLong CORRELATION = new AtomicLong();

  private RawClient() {}

  /** A fresh correlation id (unique in this JVM, so unique on any stream). */
  static long nextCorrelationId() {
    return CORRELATION.incrementAndGet();
  }

  /** A valid batch of {@code records} records with values {@code tag/0}, {@code tag/1}, ... */
  static RecordBatch batch(String tag, int records) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < records; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setValue(ByteString.copyFromUtf8(tag + "/" + i)));
    }
    long now = System.currentTimeMillis(); // an ancient timestamp would roll a segment per batch (segment.ms)
    RecordBatch b = RecordBatch.newBuilder().setRecordCount(records).setBaseTimestamp(now).setMaxTimestamp(now)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(list.build().toByteString()).build();
    return b.toBuilder().setCrc(StoredBatch.computeCrc(b)).build();
  }

  /** A produce request for one partition. */
  static ProduceRequest produceRequest(long correlationId, Acks acks, int timeoutMs, String topic, int partition,
      RecordBatch batch) {
    return ProduceRequest.newBuilder().setCorrelationId(correlationId).setAcks(acks).setTimeoutMs(timeoutMs)
        .addTopics(TopicProduceData.newBuilder().setTopic(topic).addPartitions(
            PartitionProduceData.newBuilder().setPartition(partition).addBatches(batch))).build();
  }

  /**
   * One produce stream. Every event the server sends is queued in arrival order: a
   * {@link ProduceResponse}, a {@link Throwable} for onError, or {@link #COMPLETED}.
   */
  static final class ProduceStream implements AutoCloseable {
    static final Object COMPLETED = new Object() {
      @Override
      public String toString() {
        return "COMPLETED";
      }
    };

    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final StreamObserver<ProduceRequest> requests;
    private boolean halfClosed;

    /**
     * @param onResponse runs on the gRPC thread as each response arrives, before it is queued:
     *     what it observes of the brokers is as close to the moment of the answer as a client gets
     */
    ProduceStream(Channel channel, Consumer<ProduceResponse> onResponse) {
      requests = ProduceServiceGrpc.newStub(channel).produce(new StreamObserver<>() {
        @Override
        public void onNext(ProduceResponse r) {
          try {
            onResponse.accept(r);
          } finally {
            events.add(r);
          }
        }

        @Override
        public void onError(Throwable t) {
          events.add(t);
        }

        @Override
        public void onCompleted() {
          events.add(COMPLETED);
        }
      });
    }

    ProduceStream(Channel channel) {
      this(channel, r -> {});
    }

    void send(ProduceRequest request) {
      requests.onNext(request);
    }

    /** Sends a request for one partition; returns its correlation id. */
    long send(Acks acks, int timeoutMs, String topic, int partition, RecordBatch batch) {
      long id = nextCorrelationId();
      send(produceRequest(id, acks, timeoutMs, topic, partition, batch));
      return id;
    }

    /** The next event, waiting up to {@code timeout}; null if none came. */
    Object poll(Duration timeout) throws InterruptedException {
      return events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next event without waiting; null if none is there. */
    Object poll() {
      return events.poll();
    }

    /** The next event, which must be the response to {@code correlationId}. */
    ProduceResponse response(long correlationId, Duration timeout) throws InterruptedException {
      Object e = poll(timeout);
      assertThat(e).as("answer to request %d", correlationId).isInstanceOf(ProduceResponse.class);
      ProduceResponse r = (ProduceResponse) e;
      assertThat(r.getCorrelationId()).isEqualTo(correlationId);
      return r;
    }

    /** Half-closes the stream: the server completes it once every response is out. */
    void halfClose() {
      if (!halfClosed) {
        halfClosed = true;
        requests.onCompleted();
      }
    }

    @Override
    public void close() {
      if (!halfClosed) {
        halfClosed = true;
        requests.onError(io.grpc.Status.CANCELLED.withDescription("test done").asRuntimeException());
      }
    }
  }

  /** One request on a fresh stream; the only partition result of its answer. */
  static PartitionProduceResult produce(Channel channel, Acks acks, int timeoutMs, String topic, int partition,
      RecordBatch batch) throws InterruptedException {
    try (ProduceStream stream = new ProduceStream(channel)) {
      long id = stream.send(acks, timeoutMs, topic, partition, batch);
      ProduceResponse r = stream.response(id, Duration.ofSeconds(timeoutMs / 1000 + 30));
      stream.halfClose();
      return r.getTopics(0).getPartitions(0);
    }
  }

  /** One fetch on a fresh stream; its only partition result. */
  static FetchPartitionResult fetch(Channel channel, FetchRequest.Builder request) throws InterruptedException {
    LinkedBlockingQueue<FetchResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<FetchRequest> stream = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override public void onNext(FetchResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    try {
      stream.onNext(request.setCorrelationId(nextCorrelationId()).build());
      FetchResponse r = responses.poll(30, TimeUnit.SECONDS);
      assertThat(r).as("fetch answer").isNotNull();
      return r.getTopics(0).getPartitions(0);
    } finally {
      stream.onCompleted();
    }
  }

  /** What a consumer read of a whole partition found. */
  record Consumed(TreeMap<Long, String> values, long highWatermark, int leaderEpoch) {}

  /**
   * Every record below the high watermark of the partition led by the broker behind
   * {@code channel}, read as a consumer, by offset. Every answer must be error-free and name the
   * same leader epoch.
   */
  static Consumed consumeAll(Channel channel, String topic, int partition) throws Exception {
    LinkedBlockingQueue<FetchResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<FetchRequest> stream = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override public void onNext(FetchResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    TreeMap<Long, String> values = new TreeMap<>();
    long offset = 0;
    int epoch = -1;
    try {
      while (true) {
        stream.onNext(FetchRequest.newBuilder().setCorrelationId(nextCorrelationId()).setMaxWaitMs(0)
            .addTopics(FetchTopic.newBuilder().setTopic(topic).addPartitions(FetchPartition.newBuilder()
                .setPartition(partition).setFetchOffset(offset).setCurrentLeaderEpoch(-1))).build());
        FetchResponse resp = responses.poll(30, TimeUnit.SECONDS);
        assertThat(resp).as("fetch answer").isNotNull();
        FetchPartitionResult r = resp.getTopics(0).getPartitions(0);
        assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
        if (epoch < 0) epoch = r.getLeaderEpoch();
        assertThat(r.getLeaderEpoch()).as("leader epoch of every answer").isEqualTo(epoch);
        if (r.getRecords().isEmpty()) {
          assertThat(offset).isEqualTo(r.getHighWatermark());
          return new Consumed(values, r.getHighWatermark(), epoch);
        }
        for (RecordBatch b : RecordBatchList.parseFrom(r.getRecords()).getBatchesList()) {
          for (Record rec : RecordList.parseFrom(b.getRecords()).getRecordsList()) {
            values.put(b.getBaseOffset() + rec.getOffsetDelta(), rec.getValue().toString(StandardCharsets.UTF_8));
          }
          offset = b.getBaseOffset() + b.getRecordCount();
        }
      }
    } finally {
      stream.onCompleted();
    }
  }
}
