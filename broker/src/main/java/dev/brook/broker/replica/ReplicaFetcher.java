package dev.brook.broker.replica;

import dev.brook.broker.log.EpochEndOffset;
import dev.brook.broker.log.LogException;
import dev.brook.broker.log.PartitionLog;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.FetchTopicResult;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the logs of every partition this broker follows from one leader broker, over ONE
 * long-lived bidirectional Fetch stream (Kafka's {@code ReplicaFetcherThread}, one per source
 * broker). One request is in flight at a time; it names every partition that is not backing off,
 * each with its fetch offset (= this replica's log end), the leader epoch it follows and the epoch
 * of its last batch, so the leader can detect a divergence.
 *
 * <p>Per partition result:
 * <ul>
 *   <li>records: appended byte for byte ({@link Partition#appendAsFollower}); the high watermark
 *       becomes min(leader's, own log end).
 *   <li>diverging_epoch: truncate (KIP-101/KIP-279) and fetch again. With the leader's answer
 *       (epoch E, end offset O) and this log's own end for E: if this log has E too, the logs
 *       agree up to min(O, own end of E); otherwise cut where this log's epochs above E begin
 *       and ask again with the epoch before (another round). Never to the high watermark.
 *   <li>OFFSET_OUT_OF_RANGE below the leader's log start: start over empty at the leader's start.
 *   <li>NOT_LEADER and UNKNOWN_LEADER_EPOCH: the leader has not applied the image that made it
 *       leader in this epoch yet (this broker applied it first, usually by milliseconds): the
 *       partition retries after {@value #CATCH_UP_FIRST_RETRY_MS} ms, doubling up to
 *       {@code fetchBackoffMs} while the answer stays the same, so that a new leader's first
 *       acks=all writes do not wait a whole back-off for this follower.
 *   <li>FENCED_LEADER_EPOCH and other errors: the partition backs off for {@code fetchBackoffMs};
 *       a new image that changes its leader or epoch replaces its state (and ends the back-off)
 *       through {@link #setPartitions}.
 * </ul>
 * A failed or silent stream is closed and reopened after the back-off. Every follower write names
 * the leader epoch it was fetched under, so results that arrive after a leadership change are
 * refused by the partition rather than applied.
 *
 * <p>Threading: one thread per fetcher runs the loop and does all log writes for its partitions;
 * {@link #setPartitions} and {@link #close} are called from the metadata thread.
 */
final class ReplicaFetcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaFetcher.class);
  /** First retry after the leader answered that it does not lead this epoch yet. */
  static final long CATCH_UP_FIRST_RETRY_MS = 10;

  /** What is followed: a partition under one leader epoch; replaced when the epoch changes. */
  static final class FetchState {
    final Partition partition;
    final int leaderEpoch;
    long backoffUntilNanos;
    /** The last delay after a "leader not there yet" answer, 0 when the last answer was not one (fetcher thread). */
    long catchUpRetryMs;
    /** The last failure to apply fetched data, logged once at WARN until it changes or clears (fetcher thread). */
    String lastFailure;

    FetchState(Partition partition, int leaderEpoch) {
      this.partition = partition;
      this.leaderEpoch = leaderEpoch;
      this.backoffUntilNanos = System.nanoTime(); // nanoTime may be negative: never compare with 0
    }
  }

  private record Key(String topic, int partition) {}

  /** A message from the stream's observer, tagged with the stream it belongs to. */
  private record Event(int stream, FetchResponse response, Throwable error) {}

  private final int nodeId;
  private final int leaderId;
  private final String leaderAddress;
  private final LongSupplier brokerEpoch;
  private final ReplicationConfig config;
  private final Supplier<ManagedChannel> channelFactory;
  private final Thread thread;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  // Guarded by lock.
  private final Map<Key, FetchState> partitions = new HashMap<>();
  private boolean running = true;
  private boolean paused;
  /** Held by the fetcher thread while it applies a response, so that pausing can wait for it. */
  private final Object applying = new Object();

  // Fetcher thread only.
  private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private ManagedChannel channel;
  private StreamObserver<FetchRequest> requests;
  private int streamId;
  private long correlationId;

  ReplicaFetcher(int nodeId, int leaderId, String leaderAddress, LongSupplier brokerEpoch, ReplicationConfig config,
      Supplier<ManagedChannel> channelFactory) {
    this.nodeId = nodeId;
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
    this.brokerEpoch = brokerEpoch;
    this.config = config;
    this.channelFactory = channelFactory;
    this.thread = new Thread(this::run, "brook-replica-fetcher-" + nodeId + "-from-" + leaderId);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  int leaderId() {
    return leaderId;
  }

  String leaderAddress() {
    return leaderAddress;
  }

  /**
   * Replaces the set of partitions fetched here (partition to the leader epoch it follows). A
   * partition whose epoch is unchanged keeps its state (and back-off).
   */
  void setPartitions(Map<Partition, Integer> wanted) {
    lock.lock();
    try {
      Map<Key, FetchState> next = new HashMap<>();
      for (Map.Entry<Partition, Integer> e : wanted.entrySet()) {
        Key key = new Key(e.getKey().topic(), e.getKey().index());
        FetchState old = partitions.get(key);
        next.put(key, old != null && old.partition == e.getKey() && old.leaderEpoch == e.getValue()
            ? old : new FetchState(e.getKey(), e.getValue()));
      }
      partitions.clear();
      partitions.putAll(next);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Test hook: while paused, nothing is fetched and a response in flight is dropped. Pausing
   * waits for a response being applied, so once it returns no follower log of this fetcher grows
   * until it is resumed. The stream stays open; fetching resumes from each log end.
   */
  void setPaused(boolean paused) {
    lock.lock();
    try {
      this.paused = paused;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (paused) {
      synchronized (applying) {
        // nothing: the fetcher thread has left handle(), and will drop what arrives from now on
      }
    }
  }

  private boolean isPaused() {
    lock.lock();
    try {
      return paused;
    } finally {
      lock.unlock();
    }
  }

  boolean isEmpty() {
    lock.lock();
    try {
      return partitions.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops the thread and closes the stream and channel; waits a bounded time for the thread. The
   * thread is woken, not interrupted (an interrupt inside a log write would close the log's file
   * channel), unless it does not stop in time.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      running = false;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    events.add(new Event(-1, null, null));
    try {
      thread.join(5_000);
      if (thread.isAlive()) {
        thread.interrupt();
        thread.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The fetcher thread

  private void run() {
    try {
      while (isRunning()) {
        try {
          fetchOnce();
        } catch (RuntimeException e) {
          // Never let one surprise stop replication of every partition from this leader.
          LOG.error("replica fetcher from broker {} failed; reconnecting in {} ms: {}", leaderId,
              config.fetchBackoffMs(), e.toString());
          closeStream();
          awaitChange(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.fetchBackoffMs()));
        }
      }
    } catch (InterruptedException e) {
      // closing
    } finally {
      closeStream();
      if (channel != null) channel.shutdownNow();
    }
  }

  /** One round: send a fetch for every fetchable partition and apply the answer. */
  private void fetchOnce() throws InterruptedException {
    Map<Key, FetchState> batch = fetchable();
    if (batch.isEmpty()) {
      awaitChange(nextBackoffEndNanos());
      return;
    }
    if (requests == null) openStream();
    FetchRequest request = buildRequest(batch);
    requests.onNext(request);
    Event event = awaitResponse(request.getCorrelationId());
    if (!isRunning()) return;
    if (event == null || event.error() != null) {
      if (event != null) {
        LOG.info("fetch stream to broker {} at {} failed: {}; reconnecting in {} ms", leaderId, leaderAddress,
            event.error().toString(), config.fetchBackoffMs());
      } else {
        LOG.warn("fetch stream to broker {} at {} answered nothing in time; reconnecting", leaderId, leaderAddress);
      }
      closeStream();
      awaitChange(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.fetchBackoffMs()));
      return;
    }
    handle(batch, event.response());
  }

  private boolean isRunning() {
    lock.lock();
    try {
      return running;
    } finally {
      lock.unlock();
    }
  }

  private Map<Key, FetchState> fetchable() {
    long now = System.nanoTime();
    lock.lock();
    try {
      Map<Key, FetchState> out = new LinkedHashMap<>();
      if (paused) return out;
      for (Map.Entry<Key, FetchState> e : partitions.entrySet()) {
        if (e.getValue().backoffUntilNanos - now <= 0) out.put(e.getKey(), e.getValue());
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  private long nextBackoffEndNanos() {
    lock.lock();
    try {
      long next = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      if (paused) return next; // woken by the resume
      for (FetchState s : partitions.values()) {
        if (s.backoffUntilNanos - next < 0) next = s.backoffUntilNanos;
      }
      return next;
    } finally {
      lock.unlock();
    }
  }

  private void awaitChange(long untilNanos) throws InterruptedException {
    lock.lock();
    try {
      long wait = untilNanos - System.nanoTime();
      if (running && wait > 0) changed.awaitNanos(wait);
    } finally {
      lock.unlock();
    }
  }

  private void openStream() {
    if (channel == null) channel = channelFactory.get();
    int id = ++streamId;
    requests = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override
      public void onNext(FetchResponse response) {
        events.add(new Event(id, response, null));
      }

      @Override
      public void onError(Throwable t) {
        events.add(new Event(id, null, t));
      }

      @Override
      public void onCompleted() {
        events.add(new Event(id, null, new IOException("the leader closed the fetch stream")));
      }
    });
  }

  private void closeStream() {
    if (requests != null) {
      try {
        requests.onError(io.grpc.Status.CANCELLED.withDescription("fetcher closing the stream").asRuntimeException());
      } catch (RuntimeException ignored) {
        // already closed
      }
      requests = null;
    }
    events.clear();
  }

  private FetchRequest buildRequest(Map<Key, FetchState> batch) {
    Map<String, FetchTopic.Builder> topics = new LinkedHashMap<>();
    for (Map.Entry<Key, FetchState> e : batch.entrySet()) {
      FetchState s = e.getValue();
      topics.computeIfAbsent(e.getKey().topic(), t -> FetchTopic.newBuilder().setTopic(t))
          .addPartitions(FetchPartition.newBuilder()
              .setPartition(e.getKey().partition())
              .setFetchOffset(s.partition.log().logEndOffset())
              .setPartitionMaxBytes(config.partitionFetchMaxBytes())
              .setCurrentLeaderEpoch(s.leaderEpoch)
              .setLastFetchedEpoch(s.partition.log().latestEpoch()));
    }
    FetchRequest.Builder b = FetchRequest.newBuilder()
        .setCorrelationId(++correlationId)
        .setMaxWaitMs(maxWaitMs(batch))
        .setMinBytes(config.fetchMinBytes())
        .setMaxBytes(config.fetchMaxBytes())
        .setReplicaId(nodeId)
        .setReplicaBrokerEpoch(brokerEpoch.getAsLong())
        .setClientId("replica-" + nodeId);
    for (FetchTopic.Builder t : topics.values()) b.addTopics(t);
    return b.build();
  }

  /**
   * How long the leader may hold this fetch: {@code fetchMaxWaitMs}, but no longer than until the
   * first partition left out of {@code batch} (backing off) may be fetched again, so that a short
   * retry is not held behind another partition's long poll.
   */
  private int maxWaitMs(Map<Key, FetchState> batch) {
    long now = System.nanoTime();
    long wait = config.fetchMaxWaitMs();
    lock.lock();
    try {
      for (Map.Entry<Key, FetchState> e : partitions.entrySet()) {
        if (batch.containsKey(e.getKey())) continue;
        wait = Math.min(wait, Math.max(0, TimeUnit.NANOSECONDS.toMillis(e.getValue().backoffUntilNanos - now)));
      }
    } finally {
      lock.unlock();
    }
    return (int) wait;
  }

  /** The response to {@code correlation} on the current stream; null on timeout. */
  private Event awaitResponse(long correlation) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.fetchMaxWaitMs() + config.responseTimeoutMs());
    while (true) {
      long wait = deadline - System.nanoTime();
      if (wait <= 0) return null;
      Event e = events.poll(wait, TimeUnit.NANOSECONDS);
      if (e == null || !isRunning()) return null;
      if (e.stream() != streamId) continue;
      if (e.error() != null || e.response().getCorrelationId() == correlation) return e;
    }
  }

  private void handle(Map<Key, FetchState> batch, FetchResponse response) {
    synchronized (applying) {
      if (!isPaused()) apply(batch, response);
    }
  }

  private void apply(Map<Key, FetchState> batch, FetchResponse response) {
    for (FetchTopicResult topic : response.getTopicsList()) {
      for (FetchPartitionResult r : topic.getPartitionsList()) {
        FetchState s = batch.get(new Key(topic.getTopic(), r.getPartition()));
        if (s == null || !isCurrent(topic.getTopic(), r.getPartition(), s)) continue;
        try {
          handlePartition(s, r);
          s.lastFailure = null;
        } catch (PartitionException e) {
          // The assignment moved on while this response was in flight; the next image rules.
          LOG.debug("{}: dropped a fetch result: {}", s.partition, e.getMessage());
          backOff(s);
        } catch (LogException | IOException | RuntimeException e) {
          // One partition's failure must not stop the others that share this stream.
          String failure = e.toString();
          if (!failure.equals(s.lastFailure)) {
            LOG.warn("{}: cannot apply data fetched from broker {} (retrying every {} ms; logged again only when it"
                + " changes): {}", s.partition, leaderId, config.fetchBackoffMs(), failure);
            s.lastFailure = failure;
          } else {
            LOG.debug("{}: cannot apply data fetched from broker {}: {}", s.partition, leaderId, failure);
          }
          backOff(s);
        }
      }
    }
  }

  private boolean isCurrent(String topic, int partition, FetchState s) {
    lock.lock();
    try {
      return partitions.get(new Key(topic, partition)) == s;
    } finally {
      lock.unlock();
    }
  }

  private void handlePartition(FetchState s, FetchPartitionResult r)
      throws PartitionException, LogException, IOException {
    Partition p = s.partition;
    ErrorCode code = r.getError().getCode();
    s.catchUpRetryMs = catchUpRetryMs(code, s.catchUpRetryMs, config.fetchBackoffMs());
    if (code == ErrorCode.NONE) {
      if (r.hasDivergingEpoch()) {
        long target = truncationOffset(p.log(), new EpochEndOffset(r.getDivergingEpoch().getEpoch(),
            r.getDivergingEpoch().getEndOffset()), r.getLogStartOffset());
        LOG.info("{}: log diverged from leader {} (its epoch {} ends at {}); truncating from {} to {}", p, leaderId,
            r.getDivergingEpoch().getEpoch(), r.getDivergingEpoch().getEndOffset(), p.log().logEndOffset(), target);
        p.truncateAsFollower(s.leaderEpoch, target);
        return;
      }
      if (!r.getRecords().isEmpty()) {
        p.appendAsFollower(s.leaderEpoch, r.getRecords(), r.getHighWatermark());
      } else {
        p.updateFollowerHighWatermark(s.leaderEpoch, r.getHighWatermark());
      }
      return;
    }
    if (code == ErrorCode.OFFSET_OUT_OF_RANGE && r.getLogStartOffset() >= 0
        && p.log().logEndOffset() < r.getLogStartOffset()) {
      LOG.info("{}: log end {} is below leader {}'s log start {}; starting over there", p, p.log().logEndOffset(),
          leaderId, r.getLogStartOffset());
      p.restartAsFollower(s.leaderEpoch, r.getLogStartOffset());
      return;
    }
    LOG.debug("{}: fetch from broker {} answered {}: {}", p, leaderId, code, r.getError().getMessage());
    backOff(s, s.catchUpRetryMs > 0 ? s.catchUpRetryMs : config.fetchBackoffMs());
  }

  /**
   * The retry delay after a partition's answer {@code code}, given the previous one ({@code
   * previousMs}, 0 if the previous answer was not a catch-up one): for NOT_LEADER and
   * UNKNOWN_LEADER_EPOCH (the leader is behind this broker's metadata) {@value
   * #CATCH_UP_FIRST_RETRY_MS} ms, then doubling up to {@code backoffMs}; 0 for every other answer.
   */
  static long catchUpRetryMs(ErrorCode code, long previousMs, long backoffMs) {
    if (code != ErrorCode.NOT_LEADER && code != ErrorCode.UNKNOWN_LEADER_EPOCH) return 0;
    long next = previousMs <= 0 ? CATCH_UP_FIRST_RETRY_MS : previousMs * 2;
    return Math.max(1, Math.min(next, backoffMs));
  }

  /**
   * Where to cut this log after the leader answered {@code leader} (KIP-279): if this log knows
   * the leader's epoch, both logs agree below min(leader's end, own end of that epoch); if not,
   * cut where this log's epochs above it begin and let the next fetch compare again.
   */
  static long truncationOffset(PartitionLog log, EpochEndOffset leader, long leaderLogStartOffset) {
    long logEnd = log.logEndOffset();
    if (leader.endOffset() < 0) return Math.min(logEnd, Math.max(0, leaderLogStartOffset));
    EpochEndOffset own = log.endOffsetForEpoch(leader.epoch());
    long target;
    if (own.endOffset() < 0) {
      target = leader.endOffset();
    } else if (own.epoch() == leader.epoch()) {
      target = Math.min(leader.endOffset(), own.endOffset());
    } else {
      target = own.endOffset();
    }
    return Math.min(target, logEnd);
  }

  private void backOff(FetchState s) {
    backOff(s, config.fetchBackoffMs());
  }

  private void backOff(FetchState s, long delayMs) {
    lock.lock();
    try {
      s.backoffUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ReplicaFetcher{from " + leaderId + " at " + leaderAddress + "}";
  }
}
