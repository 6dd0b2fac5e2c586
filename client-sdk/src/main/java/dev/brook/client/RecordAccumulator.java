package dev.brook.client;

import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.ErrorCode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-partition deques of batches between {@code send} and the sender thread.
 *
 * <p>Threading: application threads append to the last batch of a deque; the sender thread
 * takes batches from the head; gRPC callback threads put retried batches back near the head.
 * Every deque is guarded by its own monitor ({@code synchronized (deque)}), so appends to
 * different partitions never contend, and no lock is held while allocating memory, compressing
 * or talking to the network.
 *
 * <p>Order: a deque is sorted by {@link ProducerBatch#sequence}. Retried batches are inserted
 * back by sequence, so when a whole stream fails, its batches go out again in their original
 * order. With maxInFlightRequests > 1 a batch can still be retried after a later batch of the
 * same partition succeeded (e.g. NOT_ENOUGH_REPLICAS on one request only): then per-partition
 * order breaks, exactly as in Kafka without idempotence. maxInFlightRequests=1 keeps order: then
 * ({@code guaranteeOrder}) a partition with a batch in flight is <em>muted</em>, i.e. not drained
 * again until that batch is acknowledged, failed or put back for a retry, as Kafka does. The
 * limit of one request per broker stream alone is not enough: when the partition's leader moves,
 * the next batch would go to the new leader on another stream while the previous one is still
 * unanswered at the old leader, which then refuses it (NOT_LEADER) and its retry lands after
 * the later batch.
 */
final class RecordAccumulator {
  /** What {@link #ready} found. */
  record ReadyCheck(Map<String, List<TopicPartition>> readyByLeader, Set<String> unknownLeaderTopics,
      long nextCheckDelayMs) {}

  private final int batchSize;
  private final long lingerMs;
  private final long deliveryTimeoutMs;
  private final CompressionCodec codec;
  private final BufferPool pool;
  private final Runnable wakeSender;
  private final ConcurrentMap<TopicPartition, Deque<ProducerBatch>> batches = new ConcurrentHashMap<>();
  /** Every batch created and not yet completed, for flush() and close(). */
  private final Set<ProducerBatch> incomplete = ConcurrentHashMap.newKeySet();
  /** Mute partitions while a batch of theirs is in flight (maxInFlightRequests=1). */
  private final boolean guaranteeOrder;
  /** With guaranteeOrder: the batch in flight of each muted partition. */
  private final ConcurrentMap<TopicPartition, ProducerBatch> inFlight = new ConcurrentHashMap<>();
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicInteger flushesInProgress = new AtomicInteger();
  private final AtomicInteger appendsInProgress = new AtomicInteger();
  private volatile boolean closing;
  private int drainRotation;

  RecordAccumulator(int batchSize, long lingerMs, long deliveryTimeoutMs, CompressionCodec codec,
      BufferPool pool, Runnable wakeSender) {
    this(batchSize, lingerMs, deliveryTimeoutMs, codec, pool, wakeSender, false);
  }

  /** {@code guaranteeOrder}: at most one batch per partition in flight (maxInFlightRequests=1). */
  RecordAccumulator(int batchSize, long lingerMs, long deliveryTimeoutMs, CompressionCodec codec,
      BufferPool pool, Runnable wakeSender, boolean guaranteeOrder) {
    this.guaranteeOrder = guaranteeOrder;
    this.batchSize = batchSize;
    this.lingerMs = lingerMs;
    this.deliveryTimeoutMs = deliveryTimeoutMs;
    this.codec = codec;
    this.pool = pool;
    this.wakeSender = wakeSender;
  }

  /**
   * Appends a record to the partition's open batch, opening a new one if needed. Returns null
   * when a new batch would be needed and {@code abortOnNewBatch} is set: the caller then lets
   * the partitioner move on ({@link Partitioner#onNewBatch}) and appends again.
   */
  CompletableFuture<RecordMetadata> append(TopicPartition tp, long timestamp, byte[] key, byte[] value,
      List<Header> headers, long maxBlockMs, boolean abortOnNewBatch, long nowMs) throws InterruptedException {
    appendsInProgress.incrementAndGet();
    try {
      Deque<ProducerBatch> dq = batches.computeIfAbsent(tp, k -> new ArrayDeque<>());
      synchronized (dq) {
        CompletableFuture<RecordMetadata> f = tryAppend(dq, timestamp, key, value, headers);
        if (f != null) return f;
      }
      if (abortOnNewBatch) return null;
      int size = Math.max(batchSize, ProducerBatch.recordSize(0, 0, key, value, headers));
      byte[] buffer = pool.allocate(size, maxBlockMs);   // may block; no lock held
      boolean newBatch = false;
      try {
        synchronized (dq) {
          if (closing) throw new IllegalStateException("producer is closed");
          CompletableFuture<RecordMetadata> f = tryAppend(dq, timestamp, key, value, headers);
          if (f != null) return f;   // another thread opened a batch meanwhile
          ProducerBatch batch = new ProducerBatch(tp, sequence.incrementAndGet(), buffer, size, nowMs);
          f = batch.tryAppend(timestamp, key, value, headers);
          dq.addLast(batch);
          incomplete.add(batch);
          newBatch = true;
          buffer = null;
          return f;
        }
      } finally {
        if (buffer != null) {
          pool.recycle(buffer);
          pool.release(size);
        }
        // A new batch starts a linger timer (and may make the previous one full): the sender
        // must look at it. Appends into an existing batch do not wake it.
        if (newBatch) wakeSender.run();
      }
    } finally {
      appendsInProgress.decrementAndGet();
    }
  }

  private CompletableFuture<RecordMetadata> tryAppend(Deque<ProducerBatch> dq, long timestamp, byte[] key,
      byte[] value, List<Header> headers) {
    ProducerBatch last = dq.peekLast();
    if (last == null || last.isClosed()) return null;
    return last.tryAppend(timestamp, key, value, headers);
  }

  /**
   * Which partitions have a batch to send now, grouped by leader address, and how long until
   * the next one will be (linger or retry backoff running out). Batches past their delivery
   * timeout are failed here.
   */
  ReadyCheck ready(Metadata metadata, long nowMs) {
    Map<String, List<TopicPartition>> ready = new HashMap<>();
    Set<String> unknown = null;
    long next = Long.MAX_VALUE;
    boolean flushing = flushesInProgress.get() > 0 || closing;
    for (Map.Entry<TopicPartition, Deque<ProducerBatch>> e : batches.entrySet()) {
      Deque<ProducerBatch> dq = e.getValue();
      boolean sendable;
      synchronized (dq) {
        expire(dq, nowMs);
        // Muted: the answer to the batch in flight wakes the sender.
        if (guaranteeOrder && inFlight.containsKey(e.getKey())) continue;
        ProducerBatch head = dq.peekFirst();
        if (head == null) continue;
        if (head.isRetry() && head.retryAtMs() > nowMs) {
          next = Math.min(next, head.retryAtMs() - nowMs);
          continue;
        }
        sendable = sendable(dq, head, nowMs, flushing);
        if (!sendable) {
          next = Math.min(next, lingerMs - (nowMs - head.createdMs));
          continue;
        }
      }
      TopicPartition tp = e.getKey();
      PartitionInfo p = metadata.partition(tp);
      if (p == null || p.leaderAddress() == null) {
        if (unknown == null) unknown = new java.util.HashSet<>();
        unknown.add(tp.topic());
        continue;
      }
      ready.computeIfAbsent(p.leaderAddress(), a -> new ArrayList<>()).add(tp);
    }
    return new ReadyCheck(ready, unknown == null ? Set.of() : unknown, next);
  }

  /** A head batch goes out when full, lingered long enough, retried, or a flush/close wants it. */
  private boolean sendable(Deque<ProducerBatch> dq, ProducerBatch head, long nowMs, boolean flushing) {
    if (head.isRetry()) return head.retryAtMs() <= nowMs;
    return head.isFull() || dq.size() > 1 || nowMs - head.createdMs >= lingerMs || flushing;
  }

  private void expire(Deque<ProducerBatch> dq, long nowMs) {
    for (Iterator<ProducerBatch> it = dq.iterator(); it.hasNext(); ) {
      ProducerBatch b = it.next();
      if (nowMs - b.createdMs < deliveryTimeoutMs) break;
      it.remove();
      finish(b, new BrookException(ErrorCode.REQUEST_TIMED_OUT, "expiring " + b.recordCount()
          + " record(s) for " + b.tp + ": " + (nowMs - b.createdMs) + " ms passed since batch creation"));
    }
  }

  /**
   * Takes the head batch of each partition in {@code tps}, closed and ready for the wire, while
   * the request stays under {@code maxRequestBytes} (the first batch is always taken). One batch
   * per partition per request; the start rotates so no partition starves under the size limit.
   */
  List<ProducerBatch> drain(List<TopicPartition> tps, int maxRequestBytes, long nowMs) {
    List<ProducerBatch> out = new ArrayList<>(tps.size());
    int size = 0;
    int n = tps.size();
    int start = Math.floorMod(drainRotation++, n);
    boolean flushing = flushesInProgress.get() > 0 || closing;
    for (int i = 0; i < n; i++) {
      TopicPartition tp = tps.get((start + i) % n);
      Deque<ProducerBatch> dq = batches.get(tp);
      if (dq == null) continue;
      if (guaranteeOrder && inFlight.containsKey(tp)) continue;
      ProducerBatch head;
      synchronized (dq) {
        head = dq.peekFirst();
        if (head == null || !sendable(dq, head, nowMs, flushing)) continue;
        int estimate = head.sizeInBytes() + 128;
        if (!out.isEmpty() && size + estimate > maxRequestBytes) break;
        dq.pollFirst();
        size += estimate;
        if (guaranteeOrder) inFlight.put(tp, head);
      }
      if (!head.isClosed()) pool.recycle(head.close(codec));   // compress outside the lock
      out.add(head);
    }
    return out;
  }

  /** Puts a batch back for a retry, in sequence order, ready again at {@code retryAtMs}. */
  void reenqueue(ProducerBatch batch, long retryAtMs) {
    batch.scheduleRetry(retryAtMs);
    Deque<ProducerBatch> dq = batches.computeIfAbsent(batch.tp, k -> new ArrayDeque<>());
    synchronized (dq) {
      if (dq.isEmpty() || dq.peekFirst().sequence > batch.sequence) {
        dq.addFirst(batch);
      } else {
        // Rare (several retried batches of one partition): rebuild in sequence order.
        List<ProducerBatch> all = new ArrayList<>(dq);
        int i = 0;
        while (i < all.size() && all.get(i).sequence < batch.sequence) i++;
        all.add(i, batch);
        dq.clear();
        dq.addAll(all);
      }
    }
    unmute(batch);   // only now: no later batch of the partition can have gone out before it
    wakeSender.run();
  }

  /** Completes a batch that was sent (acknowledged, or acks=0 written). */
  void complete(ProducerBatch batch, long baseOffset) {
    if (batch.complete(baseOffset)) released(batch);
    if (unmute(batch)) wakeSender.run();
  }

  /** Fails a batch that left its deque. */
  void finish(ProducerBatch batch, RuntimeException error) {
    if (!batch.isClosed()) pool.recycle(batch.close(CompressionCodec.COMPRESSION_NONE));
    if (batch.fail(error)) released(batch);
    if (unmute(batch)) wakeSender.run();
  }

  /** Ends the batch's time in flight; true when that unmuted its partition. */
  private boolean unmute(ProducerBatch batch) {
    return guaranteeOrder && inFlight.remove(batch.tp, batch);
  }

  /** Whether {@code tp} has a batch in flight and so is not drained (only with guaranteeOrder). */
  boolean isMuted(TopicPartition tp) {
    return inFlight.containsKey(tp);
  }

  private void released(ProducerBatch batch) {
    pool.release(batch.reservedBytes);
    incomplete.remove(batch);
  }

  /** Fails every batch still waiting in a deque (forced close). */
  void abortUndrained(RuntimeException error) {
    for (Deque<ProducerBatch> dq : batches.values()) {
      List<ProducerBatch> taken;
      synchronized (dq) {
        taken = new ArrayList<>(dq);
        dq.clear();
      }
      for (ProducerBatch b : taken) finish(b, error);
    }
  }

  void beginFlush() {
    flushesInProgress.incrementAndGet();
    wakeSender.run();
  }

  void endFlush() {
    flushesInProgress.decrementAndGet();
  }

  /** Stops new batches; every open batch becomes sendable at once. */
  void beginClose() {
    closing = true;
    wakeSender.run();
  }

  /** Batches that are not complete yet, a snapshot. */
  List<ProducerBatch> incompleteBatches() {
    return new ArrayList<>(incomplete);
  }

  boolean hasIncomplete() {
    return !incomplete.isEmpty() || appendsInProgress.get() > 0;
  }

  boolean hasUndrained() {
    for (Deque<ProducerBatch> dq : batches.values()) {
      synchronized (dq) {
        if (!dq.isEmpty()) return true;
      }
    }
    return false;
  }
}
