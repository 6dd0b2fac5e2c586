package dev.brook.broker.service;

import dev.brook.broker.log.LogException;
import dev.brook.broker.log.OffsetAndTimestamp;
import dev.brook.broker.log.ReadResult;
import dev.brook.broker.replica.Partition;
import dev.brook.broker.replica.PartitionException;
import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.FetchTopicResult;
import dev.brook.proto.v1.IsolationLevel;
import dev.brook.proto.v1.ListOffsetsPartition;
import dev.brook.proto.v1.ListOffsetsPartitionResult;
import dev.brook.proto.v1.ListOffsetsRequest;
import dev.brook.proto.v1.ListOffsetsResponse;
import dev.brook.proto.v1.ListOffsetsTopic;
import dev.brook.proto.v1.ListOffsetsTopicResult;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fetch stream and offset lookups.
 *
 * <p>A stream answers its requests one at a time, in order. A request waits (long poll) until
 * min_bytes are readable below the high watermark, max_wait_ms passes, or a partition reports an
 * error; it waits by registering a callback on each partition's high watermark, never by holding
 * a thread. The next request is started only when the previous response was handed to gRPC and
 * the stream {@link ServerCallStreamObserver#isReady() is ready}, so a slow consumer makes the
 * broker stop reading for it instead of buffering responses in memory.
 *
 * <p>Records go out as the log bytes that {@code PartitionLog.read} returned: whole stored
 * batches wrapped, not copied, into the response's {@code records} field.
 *
 * <p><b>Follower fetches</b> (replica_id set) are served by the leader only and differ from a
 * consumer's: the follower must be a replica of the partition (else INELIGIBLE_REPLICA: its
 * metadata or ours is stale, it retries after a back-off), its last_fetched_epoch is checked
 * against the leader's epoch history (a mismatch is answered at once with diverging_epoch and no
 * records), records are read up to the log END (not the high watermark), and the fetch records the
 * follower's position, which may move the high watermark. Their long poll also wakes on appends,
 * not only on high watermark moves. Every partition result carries the leader epoch (-1 when
 * this broker does not lead).
 */
public final class FetchServiceImpl extends FetchServiceGrpc.FetchServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(FetchServiceImpl.class);
  static final int DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
  static final int DEFAULT_PARTITION_MAX_BYTES = 1024 * 1024;
  /** Upper bound on max_wait_ms, so a forgotten request does not pin state for long. */
  static final int MAX_WAIT_LIMIT_MS = 60_000;

  private final ReplicaManager replicas;
  private final int nodeId;
  private final ScheduledExecutorService scheduler;
  private final Executor executor;

  /**
   * @param executor runs re-evaluations of waiting fetches (woken from a producer's append), so
   *     that file reads for consumers never run on a producer's thread
   */
  public FetchServiceImpl(ReplicaManager replicas, int nodeId, ScheduledExecutorService scheduler, Executor executor) {
    this.replicas = replicas;
    this.nodeId = nodeId;
    this.scheduler = scheduler;
    this.executor = executor;
  }

  @Override
  public StreamObserver<FetchRequest> fetch(StreamObserver<FetchResponse> responses) {
    return new FetchStream((ServerCallStreamObserver<FetchResponse>) responses);
  }

  @Override
  public void listOffsets(ListOffsetsRequest request, StreamObserver<ListOffsetsResponse> out) {
    ListOffsetsResponse.Builder b = ListOffsetsResponse.newBuilder();
    for (ListOffsetsTopic topic : request.getTopicsList()) {
      ListOffsetsTopicResult.Builder tr = ListOffsetsTopicResult.newBuilder().setTopic(topic.getTopic());
      for (ListOffsetsPartition p : topic.getPartitionsList()) {
        tr.addPartitions(listOffset(topic.getTopic(), p));
      }
      b.addTopics(tr);
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  private ListOffsetsPartitionResult listOffset(String topic, ListOffsetsPartition p) {
    ListOffsetsPartitionResult.Builder r = ListOffsetsPartitionResult.newBuilder()
        .setPartition(p.getPartition()).setOffset(-1).setTimestamp(-1);
    Partition partition = replicas.partition(topic, p.getPartition());
    if (partition == null || !partition.isLeader()) {
      return r.setError(Errors.notHere(replicas, topic, p.getPartition(), nodeId)).build();
    }
    r.setLeaderEpoch(partition.state().leaderEpoch());
    if (partition.mustCatchUp()) {
      return r.setError(Errors.of(ErrorCode.LEADER_NOT_AVAILABLE, partition + " is catching up after a repair of its"
          + " log on broker " + nodeId + " and does not serve as leader yet")).build();
    }
    long ts = p.getTimestamp();
    if (ts == -2) {
      return r.setOffset(partition.log().logStartOffset()).build();
    }
    if (ts == -1) {
      return r.setOffset(partition.highWatermark()).build();
    }
    if (ts < 0) {
      return r.setError(Errors.of(ErrorCode.INVALID_REQUEST, "timestamp must be >= 0, -1 (latest) or -2 (earliest)"))
          .build();
    }
    try {
      OffsetAndTimestamp found = partition.log().offsetForTimestamp(ts);
      if (found != null && found.offset() < partition.highWatermark()) {
        r.setOffset(found.offset()).setTimestamp(found.timestamp());
      }
      return r.build();
    } catch (IOException e) {
      LOG.warn("offset lookup by time in {} failed: {}", partition, e.toString());
      return r.setError(Errors.of(ErrorCode.STORAGE_ERROR, e.toString())).build();
    }
  }

  /** One client stream: its requests, answered in order, one at a time. */
  private final class FetchStream implements StreamObserver<FetchRequest> {
    private final ServerCallStreamObserver<FetchResponse> out;
    // Guarded by this.
    private final ArrayDeque<FetchRequest> queue = new ArrayDeque<>();
    private PendingFetch current;
    private boolean halfClosed;
    private boolean done;
    /** The follower replica fetching on this stream, or -1 for a consumer. */
    private volatile int followerId = -1;

    FetchStream(ServerCallStreamObserver<FetchResponse> out) {
      this.out = out;
      out.setOnReadyHandler(this::startNext);
      out.setOnCancelHandler(this::cancel);
    }

    @Override
    public void onNext(FetchRequest request) {
      if (request.hasReplicaId()) followerId = request.getReplicaId();
      synchronized (this) {
        if (done) return;
        queue.add(request);
      }
      startNext();
    }

    private void startNext() {
      PendingFetch next;
      synchronized (this) {
        if (current != null || done || queue.isEmpty() || !out.isReady()) {
          if (current == null && halfClosed && queue.isEmpty() && !done) {
            done = true;
            out.onCompleted();
          }
          return;
        }
        next = new PendingFetch(this, queue.poll());
        current = next;
      }
      next.attempt();
    }

    void respond(PendingFetch fetch, FetchResponse response) {
      synchronized (this) {
        if (current != fetch) return;
        current = null;
        if (done) return;
        out.onNext(response);
      }
      startNext();
    }

    private void cancel() {
      PendingFetch f;
      synchronized (this) {
        done = true;
        queue.clear();
        f = current;
        current = null;
      }
      if (f != null) f.abandon();
      followerGone();
    }

    /** A follower's stream ended: its leaders here may drop it from their ISRs soon (see ReplicaManager). */
    private void followerGone() {
      int id = followerId;
      if (id >= 0) replicas.onFollowerStreamClosed(id);
    }

    @Override
    public void onError(Throwable t) {
      LOG.debug("fetch stream closed by the client: {}", t.toString());
      cancel();
    }

    @Override
    public void onCompleted() {
      synchronized (this) {
        halfClosed = true;
      }
      followerGone();
      startNext();
    }
  }

  /** One request being answered: read now, or wait for data, then respond exactly once. */
  private final class PendingFetch implements Runnable {
    private final FetchStream stream;
    private final FetchRequest request;
    private final long deadlineNanos;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final List<Partition> watched = new ArrayList<>();
    /** Why the request as a whole cannot be served (answered at once, for every partition), or null. */
    private final String problem;
    private ScheduledFuture<?> timer;

    PendingFetch(FetchStream stream, FetchRequest request) {
      this.stream = stream;
      this.request = request;
      this.problem = requestProblem(request);
      int wait = Math.max(0, Math.min(request.getMaxWaitMs(), MAX_WAIT_LIMIT_MS));
      this.deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
    }

    /**
     * Woken by a high watermark change: read again, off the waking thread. Runs inside
     * {@code Waiters.fire}, so it must not throw: an exception there would escape into the
     * producer, follower or shutdown that moved the watermark, and skip the other waiters.
     */
    @Override
    public void run() {
      if (finished.get()) return;
      try {
        executor.execute(this::attempt);
      } catch (RejectedExecutionException e) {
        // The broker is stopping (the executor is shut down before the logs close): its streams
        // are being cancelled, though gRPC may not have told this one yet. Nothing to answer.
        abandon();
      }
    }

    void attempt() {
      if (finished.get()) return;
      Evaluation e = evaluate();
      boolean expired = System.nanoTime() - deadlineNanos >= 0;
      if (e.bytes >= Math.max(1, request.getMinBytes()) || e.error || expired) {
        finish(e.response);
        return;
      }
      synchronized (this) {
        // Finished or abandoned meanwhile: its clean-up (also under this lock) already ran, so
        // whatever is registered now would stay until the next wake-up or the timer.
        if (finished.get()) return;
        if (timer == null) {
          long delay = deadlineNanos - System.nanoTime();
          try {
            timer = scheduler.schedule(() -> executor.execute(() -> {
              if (!finished.get()) finish(evaluate().response);
            }), delay, TimeUnit.NANOSECONDS);
          } catch (RejectedExecutionException stopping) {
            abandon(); // the broker is stopping; its streams are being cancelled
            return;
          }
        }
        // Register before reading again, so a write in between is not missed (see Waiters).
        for (Partition p : watched) {
          p.cancelAwait(this);
        }
        watched.clear();
        for (Partition p : e.partitions) {
          p.awaitHighWatermarkChange(this);
          if (request.hasReplicaId()) p.awaitAppend(this);
          watched.add(p);
        }
      }
      Evaluation again = evaluate();
      if (again.bytes >= Math.max(1, request.getMinBytes()) || again.error) {
        finish(again.response);
      }
    }

    private void finish(FetchResponse response) {
      if (!finished.compareAndSet(false, true)) return;
      cleanUp();
      stream.respond(this, response);
    }

    void abandon() {
      finished.set(true);
      cleanUp();
    }

    private synchronized void cleanUp() {
      if (timer != null) timer.cancel(false);
      for (Partition p : watched) {
        p.cancelAwait(this);
      }
      watched.clear();
    }

    private Evaluation evaluate() {
      Evaluation e = new Evaluation();
      FetchResponse.Builder b = FetchResponse.newBuilder().setCorrelationId(request.getCorrelationId());
      if (problem != null) {
        e.error = true;
        e.response = b.addAllTopics(everyPartition(request, Errors.of(ErrorCode.INVALID_REQUEST, problem))).build();
        return e;
      }
      long remaining = request.getMaxBytes() > 0 ? request.getMaxBytes() : DEFAULT_MAX_BYTES;
      for (FetchTopic topic : request.getTopicsList()) {
        FetchTopicResult.Builder tr = FetchTopicResult.newBuilder().setTopic(topic.getTopic());
        for (FetchPartition fp : topic.getPartitionsList()) {
          FetchPartitionResult r = fetchPartition(topic.getTopic(), fp, remaining, e);
          remaining -= r.getRecords().size();
          tr.addPartitions(r);
        }
        b.addTopics(tr);
      }
      e.response = b.build();
      return e;
    }

    private FetchPartitionResult fetchPartition(String topic, FetchPartition fp, long remaining, Evaluation e) {
      FetchPartitionResult.Builder r = FetchPartitionResult.newBuilder().setPartition(fp.getPartition())
          .setHighWatermark(-1).setLogStartOffset(-1).setLastStableOffset(-1).setLeaderEpoch(-1);
      Partition partition = replicas.partition(topic, fp.getPartition());
      if (partition == null || !partition.isLeader()) {
        e.error = true;
        return r.setError(Errors.notHere(replicas, topic, fp.getPartition(), nodeId)).build();
      }
      int epoch = partition.state().leaderEpoch();
      r.setLeaderEpoch(epoch);
      if (fp.getCurrentLeaderEpoch() >= 0 && fp.getCurrentLeaderEpoch() != epoch) {
        e.error = true;
        ErrorCode code = fp.getCurrentLeaderEpoch() < epoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
        return r.setError(Errors.of(code, "leader epoch " + fp.getCurrentLeaderEpoch() + " of " + partition
            + " does not match the current epoch " + epoch)).build();
      }
      if (fp.getPartitionMaxBytes() < 0) {
        e.error = true;
        return r.setError(Errors.of(ErrorCode.INVALID_REQUEST,
            "partition_max_bytes must be >= 0 (0 = the broker default), got " + fp.getPartitionMaxBytes())).build();
      }
      long hw = partition.highWatermark();
      long start = partition.log().logStartOffset();
      r.setHighWatermark(hw).setLogStartOffset(start).setLastStableOffset(hw);
      e.partitions.add(partition);
      if (remaining <= 0 && e.bytes > 0) {
        return r.build();
      }
      int limit = (int) Math.min(fp.getPartitionMaxBytes() > 0 ? fp.getPartitionMaxBytes() : DEFAULT_PARTITION_MAX_BYTES,
          Math.max(remaining, 1));
      if (request.hasReplicaId()) {
        return followerFetch(partition, fp, limit, r, e);
      }
      try {
        ReadResult read = partition.read(fp.getFetchOffset(), limit);
        e.bytes += read.records().size();
        return r.setError(Errors.NONE).setRecords(read.records())
            .setLogStartOffset(read.logStartOffset()).build();
      } catch (LogException ex) {
        e.error = true;
        return r.setError(Errors.of(ex.code(), ex.getMessage())).build();
      }
    }

    /** A follower's fetch of one partition, see the class comment. */
    private FetchPartitionResult followerFetch(Partition partition, FetchPartition fp, int limit,
        FetchPartitionResult.Builder r, Evaluation e) {
      try {
        Partition.FollowerRead read = partition.readForFollower(request.getReplicaId(), request.getReplicaBrokerEpoch(),
            fp.getCurrentLeaderEpoch(), fp.getFetchOffset(), fp.getLastFetchedEpoch(), limit);
        r.setError(Errors.NONE).setLeaderEpoch(read.leaderEpoch())
            .setHighWatermark(read.highWatermark()).setLastStableOffset(read.highWatermark());
        if (read.divergingEpoch() != null) {
          e.error = true; // answer now: the follower must truncate before anything else
          return r.setDivergingEpoch(dev.brook.proto.v1.EpochEndOffset.newBuilder()
              .setEpoch(read.divergingEpoch().epoch()).setEndOffset(read.divergingEpoch().endOffset())).build();
        }
        e.bytes += read.read().records().size();
        return r.setRecords(read.read().records()).setLogStartOffset(read.read().logStartOffset()).build();
      } catch (PartitionException ex) {
        e.error = true;
        if (ex.code() == ErrorCode.NOT_LEADER) {
          return r.setLeaderEpoch(-1)
              .setError(Errors.notHere(replicas, partition.topic(), partition.index(), nodeId)).build();
        }
        return r.setError(Errors.of(ex.code(), ex.getMessage())).build();
      } catch (LogException ex) {
        e.error = true;
        return r.setError(Errors.of(ex.code(), ex.getMessage())).build();
      }
    }
  }

  /** Why a fetch request as a whole cannot be served, or null: a field out of its documented range. */
  static String requestProblem(FetchRequest request) {
    if (request.getMaxBytes() < 0) return "max_bytes must be >= 0 (0 = the broker default), got " + request.getMaxBytes();
    if (request.getMinBytes() < 0) return "min_bytes must be >= 0, got " + request.getMinBytes();
    if (request.getMaxWaitMs() < 0) return "max_wait_ms must be >= 0, got " + request.getMaxWaitMs();
    if (request.getIsolationLevel() == IsolationLevel.UNRECOGNIZED) {
      return "unknown isolation_level " + request.getIsolationLevelValue() + " (expected 0 = READ_UNCOMMITTED or 1 = READ_COMMITTED)";
    }
    return null;
  }

  /** Every partition of the request answered with {@code error}. */
  private static List<FetchTopicResult> everyPartition(FetchRequest request, dev.brook.proto.v1.Error error) {
    List<FetchTopicResult> topics = new ArrayList<>();
    for (FetchTopic topic : request.getTopicsList()) {
      FetchTopicResult.Builder tr = FetchTopicResult.newBuilder().setTopic(topic.getTopic());
      for (FetchPartition fp : topic.getPartitionsList()) {
        tr.addPartitions(FetchPartitionResult.newBuilder().setPartition(fp.getPartition()).setError(error)
            .setHighWatermark(-1).setLogStartOffset(-1).setLastStableOffset(-1).setLeaderEpoch(-1));
      }
      topics.add(tr.build());
    }
    return topics;
  }

  private static final class Evaluation {
    FetchResponse response;
    long bytes;
    boolean error;
    final List<Partition> partitions = new ArrayList<>();
  }
}
