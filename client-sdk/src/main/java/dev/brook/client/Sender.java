package dev.brook.client;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.ProduceServiceGrpc;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer's single I/O thread: finds ready batches, groups them per leader broker into one
 * ProduceRequest, and writes it to that broker's {@link ProduceStream} while fewer than
 * maxInFlightRequests are unanswered and the stream is ready (outbound flow control).
 *
 * <p>It never waits on the network and never runs user code: answers arrive on gRPC callback
 * threads, which complete futures (so user callbacks run there, not here) and re-enqueue
 * retries. The thread parks until the next linger/backoff deadline or a {@link #wakeup} (new
 * batch, full batch, answer, stream ready, flush, close).
 *
 * <p>Streams live in a map owned by this thread. A failed stream is dropped, its batches retried,
 * and a new stream to that address opens no sooner than a retry backoff later.
 */
final class Sender implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(Sender.class);
  /** Longest park, so request timeouts are noticed even when nothing else happens. */
  private static final long MAX_PARK_MS = 100;

  private final ProducerConfig config;
  private final RecordAccumulator accumulator;
  private final Metadata metadata;
  private final ChannelPool channels;
  private final ExecutorService callbackExecutor;
  private final Map<String, ProduceStream> streams = new HashMap<>();
  private final Map<String, Long> reconnectAtMs = new HashMap<>();
  /** UNKNOWN_TOPIC_OR_PARTITION right after a topic was created is retried this long. */
  private final long unknownTopicRetryMs;
  private volatile Thread thread;
  private volatile boolean running = true;
  private volatile boolean forceClose;

  Sender(ProducerConfig config, RecordAccumulator accumulator, Metadata metadata, ChannelPool channels,
      ExecutorService callbackExecutor) {
    this.config = config;
    this.accumulator = accumulator;
    this.metadata = metadata;
    this.channels = channels;
    this.callbackExecutor = callbackExecutor;
    this.unknownTopicRetryMs = Math.min(config.deliveryTimeoutMs(), 10_000);
  }

  void wakeup() {
    Thread t = thread;
    if (t != null) LockSupport.unpark(t);
  }

  /** Graceful: send what is buffered, wait for answers, then stop. */
  void initiateClose() {
    running = false;
    accumulator.beginClose();
    wakeup();
  }

  /** Stop now, failing what is not acknowledged. */
  void forceClose() {
    forceClose = true;
    running = false;
    wakeup();
  }

  @Override
  public void run() {
    thread = Thread.currentThread();
    try {
      while (running) runOnce();
      while (!forceClose && accumulator.hasIncomplete()) runOnce();
    } catch (Throwable t) {
      log.error("producer sender thread failed", t);
    } finally {
      BrookException closed = new BrookException(ErrorCode.UNKNOWN_SERVER_ERROR,
          "producer closed before the record was acknowledged", null, false, false);
      accumulator.abortUndrained(closed);
      for (ProduceStream s : streams.values()) {
        if (forceClose || s.inFlightCount() > 0) s.abort("producer closed");
        else s.close();
      }
      streams.clear();
      for (ProducerBatch b : accumulator.incompleteBatches()) accumulator.finish(b, closed);
    }
  }

  void runOnce() {
    long now = System.currentTimeMillis();
    checkStreams(now);
    RecordAccumulator.ReadyCheck ready = accumulator.ready(metadata, now);
    for (String topic : ready.unknownLeaderTopics()) metadata.requestRefresh(topic);
    long park = Math.min(MAX_PARK_MS, ready.nextCheckDelayMs());
    if (!ready.unknownLeaderTopics().isEmpty()) park = Math.min(park, Math.max(1, config.retryBackoffMs()));
    for (Map.Entry<String, List<TopicPartition>> e : ready.readyByLeader().entrySet()) {
      ProduceStream stream = stream(e.getKey(), now);
      if (stream == null) {
        park = Math.min(park, Math.max(1, reconnectAtMs.getOrDefault(e.getKey(), now) - now));
        continue;
      }
      // While there is room, keep writing: several requests may go out in one pass when many
      // batches are ready (each takes at most one batch per partition).
      while (stream.canSend(config.maxInFlightRequests())) {
        List<ProducerBatch> batches = accumulator.drain(e.getValue(), config.maxRequestSize(), now);
        if (batches.isEmpty()) break;
        stream.send(batches, config.wireAcks(), (int) Math.min(Integer.MAX_VALUE, config.requestTimeoutMs()),
            config.clientId(), now);
        if (config.wireAcks() == Acks.ACKS_NONE) {
          // No answer will come: done once written. Completed on the callback thread so user
          // code never runs on this one.
          callbackExecutor.execute(() -> {
            for (ProducerBatch b : batches) accumulator.complete(b, -1);
          });
        }
      }
    }
    if (running || !forceClose) LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(Math.max(1, park)));
  }

  private ProduceStream stream(String address, long now) {
    ProduceStream s = streams.get(address);
    if (s != null) return s;
    Long at = reconnectAtMs.get(address);
    if (at != null && at > now) return null;
    reconnectAtMs.remove(address);
    s = new ProduceStream(address, this);
    try {
      s.start(ProduceServiceGrpc.newStub(channels.get(address)));
    } catch (RuntimeException e) {
      log.debug("cannot open produce stream to {}: {}", address, e.toString());
      reconnectAtMs.put(address, now + config.retryBackoffMs());
      return null;
    }
    streams.put(address, s);
    return s;
  }

  /** Drops dead streams; cancels those whose oldest request is past requestTimeoutMs. */
  private void checkStreams(long now) {
    for (Iterator<ProduceStream> it = streams.values().iterator(); it.hasNext(); ) {
      ProduceStream s = it.next();
      long oldest = s.oldestSentMs();
      if (!s.isDead() && oldest >= 0 && now - oldest > config.requestTimeoutMs()) {
        log.debug("produce request to {} unanswered for {} ms, reconnecting", s.address, now - oldest);
        s.abort("request timed out after " + config.requestTimeoutMs() + " ms");
      }
      if (s.isDead()) {
        it.remove();
        reconnectAtMs.put(s.address, now + config.retryBackoffMs());
      }
    }
  }

  /** One partition's answer (gRPC callback thread). */
  void onPartitionResult(ProduceStream stream, ProducerBatch batch, Error error, long baseOffset) {
    if (error.getCode() == ErrorCode.NONE) {
      accumulator.complete(batch, baseOffset);
      return;
    }
    if (error.getCode() == ErrorCode.NOT_LEADER) {
      metadata.applyLeaderHint(batch.tp, error.getLeaderId(), error.getLeaderAddress());
    }
    onBatchFailed(batch, BrookException.of(error, "produce to " + batch.tp + " at " + stream.address));
  }

  /** A batch's request failed: retry it after a backoff if allowed, otherwise fail its records. */
  void onBatchFailed(ProducerBatch batch, BrookException e) {
    long now = System.currentTimeMillis();
    if (e.isTransport() || BrookException.invalidatesMetadata(e.code())) metadata.requestRefresh(batch.tp.topic());
    boolean retry = e.retriable()
        && !forceClose
        && batch.attempts() < config.retries()
        && now + config.retryBackoffMs() < batch.createdMs + config.deliveryTimeoutMs()
        && (e.code() != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || e.isTransport()
            || now - batch.createdMs < unknownTopicRetryMs);
    if (retry) {
      log.debug("retrying {} record(s) for {} (attempt {}): {}", batch.recordCount(), batch.tp,
          batch.attempts() + 1, e.getMessage());
      accumulator.reenqueue(batch, now + config.retryBackoffMs());
    } else {
      accumulator.finish(batch, e);
    }
  }
}
