package dev.brook.broker.service;

import dev.brook.broker.log.AppendResult;
import dev.brook.broker.log.LogException;
import dev.brook.broker.log.ValidatedBatches;
import dev.brook.broker.replica.Partition;
import dev.brook.broker.replica.PartitionException;
import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.PartitionProduceData;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceRequest;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.proto.v1.ProduceServiceGrpc;
import dev.brook.proto.v1.TopicProduceData;
import dev.brook.proto.v1.TopicProduceResult;
import dev.brook.protocol.TopicNames;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The produce stream. Each request is appended as it arrives (gRPC delivers one stream's
 * messages one at a time, in order), so the order of requests on a stream is the order of their
 * batches in every partition log. Responses leave in request order: a response whose acks=all
 * wait is still running holds back the ones behind it, which keeps the promise of
 * produce.proto that a partition's responses come in request order.
 *
 * <p>A request is handled in two phases: every partition's batches are routed and validated
 * (records.proto's rules, see {@code BatchValidator}), then appended. A batch that breaks a rule
 * refuses the whole request: its partition gets the batch's error and every other partition that
 * would have been written gets INVALID_REQUEST, so nothing of a malformed request is stored.
 * A field out of range (an unknown acks value, a negative timeout) is answered with
 * INVALID_REQUEST for every partition of that request; the stream stays open for the others.
 * The records bytes of each batch go from the parsed request to the log file untouched.
 */
public final class ProduceServiceImpl extends ProduceServiceGrpc.ProduceServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ProduceServiceImpl.class);
  private static final int DEFAULT_TIMEOUT_MS = 30_000;

  private final ReplicaManager replicas;
  private final int nodeId;
  private final ScheduledExecutorService scheduler;

  public ProduceServiceImpl(ReplicaManager replicas, int nodeId, ScheduledExecutorService scheduler) {
    this.replicas = replicas;
    this.nodeId = nodeId;
    this.scheduler = scheduler;
  }

  @Override
  public StreamObserver<ProduceRequest> produce(StreamObserver<ProduceResponse> responses) {
    return new ProduceStream((ServerCallStreamObserver<ProduceResponse>) responses);
  }

  /** One client stream. Its methods are called by gRPC one at a time; completions may race. */
  private final class ProduceStream implements StreamObserver<ProduceRequest> {
    private final ServerCallStreamObserver<ProduceResponse> out;
    // Guarded by this: responses not yet sent, in request order.
    private final ArrayDeque<PendingResponse> pending = new ArrayDeque<>();
    private boolean halfClosed;
    private boolean done;

    ProduceStream(ServerCallStreamObserver<ProduceResponse> out) {
      this.out = out;
      out.setOnCancelHandler(() -> {
        synchronized (this) {
          done = true;
          pending.clear();
        }
      });
    }

    @Override
    public void onNext(ProduceRequest request) {
      Acks acks = request.getAcks();
      PendingResponse response = new PendingResponse(request);
      // An unknown acks value gets an answer: the client expects one unless it asked for none.
      if (acks != Acks.ACKS_NONE) {
        synchronized (this) {
          if (done) return;
          pending.add(response);
        }
      }
      String invalid = requestProblem(request);
      if (invalid != null) {
        LOG.debug("produce request {} refused: {}", request.getCorrelationId(), invalid);
        response.setAll(Errors.of(ErrorCode.INVALID_REQUEST, invalid));
        response.arrive();
        return;
      }
      boolean acksAll = acks == Acks.ACKS_ALL || acks == Acks.ACKS_UNSPECIFIED;
      int timeoutMs = request.getTimeoutMs() > 0 ? request.getTimeoutMs() : DEFAULT_TIMEOUT_MS;
      // Phase 1: route and validate every partition's batches. A batch that breaks a rule of
      // records.proto refuses the whole request, so nothing of it is written.
      Partition[][] targets = new Partition[request.getTopicsCount()][];
      ValidatedBatches[][] validated = new ValidatedBatches[request.getTopicsCount()][];
      String refused = null;
      for (int t = 0; t < request.getTopicsCount(); t++) {
        TopicProduceData topic = request.getTopics(t);
        targets[t] = new Partition[topic.getPartitionsCount()];
        validated[t] = new ValidatedBatches[topic.getPartitionsCount()];
        String badName = TopicNames.invalidReason(topic.getTopic());
        for (int p = 0; p < topic.getPartitionsCount(); p++) {
          PartitionProduceData data = topic.getPartitions(p);
          if (badName != null) {
            response.set(t, p, Errors.of(ErrorCode.INVALID_TOPIC, badName));
            continue;
          }
          Partition partition = replicas.partition(topic.getTopic(), data.getPartition());
          if (partition == null || !partition.isLeader()) {
            response.set(t, p, Errors.notHere(replicas, topic.getTopic(), data.getPartition(), nodeId));
            continue;
          }
          if (data.getBatchesCount() == 0) {
            response.set(t, p, Errors.of(ErrorCode.INVALID_REQUEST, "no batches for " + partition));
            continue;
          }
          try {
            validated[t][p] = partition.validate(data.getBatchesList());
            targets[t][p] = partition;
          } catch (LogException e) {
            LOG.debug("produce to {} refused: {}", partition, e.getMessage());
            response.set(t, p, Errors.of(e.code(), partition + " " + e.getMessage()));
            if (refused == null) refused = partition + " " + e.getMessage() + " (" + e.code() + ")";
          }
        }
      }
      // Phase 2: append.
      for (int t = 0; t < targets.length; t++) {
        for (int p = 0; p < targets[t].length; p++) {
          if (targets[t][p] == null) continue;
          if (refused != null) {
            response.set(t, p, Errors.of(ErrorCode.INVALID_REQUEST,
                "nothing of this request was written: " + refused));
          } else {
            append(response, t, p, targets[t][p], validated[t][p], acksAll, timeoutMs);
          }
        }
      }
      response.arrive();
    }

    /** Why the request as a whole cannot be served (a field out of its range), or null. */
    private String requestProblem(ProduceRequest request) {
      if (request.getAcks() == Acks.UNRECOGNIZED) {
        return "unknown acks value " + request.getAcksValue()
            + " (expected 1 = ACKS_NONE, 2 = ACKS_LEADER, 3 = ACKS_ALL, or 0 for the default, all)";
      }
      if (request.getTimeoutMs() < 0) {
        return "timeout_ms must be >= 0 (0 = the broker default), got " + request.getTimeoutMs();
      }
      return null;
    }

    private void append(PendingResponse response, int t, int p, Partition partition, ValidatedBatches batches,
        boolean acksAll, int timeoutMs) {
      AppendResult result;
      try {
        result = partition.appendAsLeader(batches, acksAll);
      } catch (LogException e) {
        LOG.debug("produce to {} rejected: {}", partition, e.getMessage());
        response.set(t, p, Errors.of(e.code(), e.getMessage()));
        return;
      } catch (PartitionException e) {
        response.set(t, p, e.code() == ErrorCode.NOT_LEADER
            ? Errors.notHere(replicas, partition.topic(), partition.index(), nodeId) : Errors.of(e.code(), e.getMessage()));
        return;
      } catch (RuntimeException e) {
        LOG.warn("produce to {} failed: {}", partition, e.toString());
        response.set(t, p, Errors.of(ErrorCode.UNKNOWN_SERVER_ERROR, String.valueOf(e.getMessage())));
        return;
      }
      if (!acksAll) {
        response.set(t, p, success(partition, result));
        return;
      }
      awaitReplication(response, t, p, partition, result, timeoutMs);
    }

    /**
     * acks=all: answer once the high watermark passes the last appended offset, or time out.
     *
     * <p>The callback registers itself before it evaluates (see {@code Waiters}), so a high
     * watermark move between the two is never missed. It answers NOT_LEADER as soon as this
     * replica no longer leads in the epoch of the append (the next leader may have truncated the
     * records), and NOT_ENOUGH_REPLICAS when the ISR shrank below min.insync.replicas before the
     * records were committed: then fewer copies than promised exist (Kafka's
     * NOT_ENOUGH_REPLICAS_AFTER_APPEND). Either way the producer may retry.
     */
    private void awaitReplication(PendingResponse response, int t, int p, Partition partition,
        AppendResult result, int timeoutMs) {
      AtomicBoolean done = new AtomicBoolean();
      ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
      Runnable check = new Runnable() {
        @Override
        public void run() {
          if (done.get()) return;
          partition.awaitHighWatermarkChange(this);
          PartitionProduceResult outcome = evaluate();
          if (outcome != null && done.compareAndSet(false, true)) {
            partition.cancelAwait(this);
            ScheduledFuture<?> f = timer[0];
            if (f != null) f.cancel(false);
            response.set(t, p, outcome);
          }
        }

        private PartitionProduceResult evaluate() {
          if (!partition.leadsInEpoch(result.leaderEpoch())) {
            return response.error(t, p, Errors.notHere(replicas, partition.topic(), partition.index(), nodeId));
          }
          if (partition.highWatermark() <= result.lastOffset()) return null;
          int isr = partition.isr().size();
          if (isr < partition.minInsyncReplicas()) {
            return response.error(t, p, Errors.of(ErrorCode.NOT_ENOUGH_REPLICAS, "the records of " + partition
                + " were written, but the in-sync replica set shrank to " + isr + " member(s) before they were"
                + " committed (min.insync.replicas is " + partition.minInsyncReplicas() + ")"));
          }
          return success(partition, result);
        }
      };
      // (A completion that does not see the timer lets it fire later: done makes that a no-op.)
      timer[0] = scheduler.schedule(() -> {
        if (done.compareAndSet(false, true)) {
          partition.cancelAwait(check);
          response.set(t, p, Errors.of(ErrorCode.REQUEST_TIMED_OUT, "replication of offsets up to "
              + result.lastOffset() + " of " + partition + " did not complete in " + timeoutMs + " ms"));
        }
      }, timeoutMs, TimeUnit.MILLISECONDS);
      check.run();
    }

    private PartitionProduceResult success(Partition partition, AppendResult result) {
      return PartitionProduceResult.newBuilder().setPartition(partition.index())
          .setError(Errors.NONE).setBaseOffset(result.firstOffset())
          .setLogStartOffset(partition.log().logStartOffset())
          .setLogAppendTimeMs(result.logAppendTimeMs()).build();
    }

    /** Sends every completed response at the head of the queue. */
    private void drain() {
      synchronized (this) {
        while (!pending.isEmpty() && pending.peek().isComplete()) {
          if (!done) {
            out.onNext(pending.poll().build());
          } else {
            pending.poll();
          }
        }
        if (halfClosed && pending.isEmpty() && !done) {
          done = true;
          out.onCompleted();
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (this) {
        done = true;
        pending.clear();
      }
      LOG.debug("produce stream closed by the client: {}", t.toString());
    }

    @Override
    public void onCompleted() {
      synchronized (this) {
        halfClosed = true;
      }
      drain();
    }

    /** The response to one request, filled in as its partitions complete. */
    private final class PendingResponse {
      private final ProduceRequest request;
      private final PartitionProduceResult[][] results;
      // Partitions still running, plus one held by onNext until it has started them all.
      private final AtomicInteger outstanding;

      PendingResponse(ProduceRequest request) {
        this.request = request;
        this.results = new PartitionProduceResult[request.getTopicsCount()][];
        int n = 1;
        for (int t = 0; t < results.length; t++) {
          results[t] = new PartitionProduceResult[request.getTopics(t).getPartitionsCount()];
          n += results[t].length;
        }
        this.outstanding = new AtomicInteger(n);
      }

      void set(int t, int p, Error error) {
        set(t, p, error(t, p, error));
      }

      /** Answers every partition of the request with {@code error}. */
      void setAll(Error error) {
        for (int t = 0; t < results.length; t++) {
          for (int p = 0; p < results[t].length; p++) set(t, p, error);
        }
      }

      PartitionProduceResult error(int t, int p, Error error) {
        return PartitionProduceResult.newBuilder()
            .setPartition(request.getTopics(t).getPartitions(p).getPartition())
            .setError(error).setBaseOffset(-1).setLogStartOffset(-1).setLogAppendTimeMs(-1).build();
      }

      void set(int t, int p, PartitionProduceResult result) {
        results[t][p] = result;
        arrive();
      }

      void arrive() {
        if (outstanding.decrementAndGet() == 0 && request.getAcks() != Acks.ACKS_NONE) {
          drain();
        }
      }

      boolean isComplete() {
        return outstanding.get() == 0;
      }

      ProduceResponse build() {
        ProduceResponse.Builder b = ProduceResponse.newBuilder().setCorrelationId(request.getCorrelationId());
        for (int t = 0; t < results.length; t++) {
          TopicProduceResult.Builder tr = TopicProduceResult.newBuilder().setTopic(request.getTopics(t).getTopic());
          for (PartitionProduceResult r : results[t]) {
            tr.addPartitions(r);
          }
          b.addTopics(tr);
        }
        return b.build();
      }
    }
  }
}
