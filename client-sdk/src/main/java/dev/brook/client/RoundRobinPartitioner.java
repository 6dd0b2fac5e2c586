package dev.brook.client;

import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spreads records over all partitions in turn, ignoring keys. Thread-safe.
 *
 * <p>When the chosen partition has no open batch, the producer calls {@link #onNewBatch} and then
 * {@link #partition} again for the same record. Advancing the counter on that second call would
 * skip a partition every time a batch opens: with 4 partitions, partitions 0 and 2 would never be
 * chosen (Kafka's KAFKA-9965). So {@link #onNewBatch} remembers the partition it was told about,
 * and the next call for the topic returns it instead of advancing.
 */
public final class RoundRobinPartitioner implements Partitioner {
  private final ConcurrentMap<String, AtomicInteger> counters = new ConcurrentHashMap<>();
  /** Partitions chosen for a record whose append then needed a new batch: to be handed out again. */
  private final ConcurrentMap<String, Queue<Integer>> rechoose = new ConcurrentHashMap<>();

  @Override
  public int partition(String topic, Object key, byte[] keyBytes, int numPartitions) {
    Queue<Integer> pending = rechoose.get(topic);
    if (pending != null) {
      Integer again = pending.poll();
      if (again != null && again < numPartitions) return again;
    }
    int next = counters.computeIfAbsent(topic, t -> new AtomicInteger()).getAndIncrement();
    return (next & 0x7fffffff) % numPartitions;
  }

  @Override
  public void onNewBatch(String topic, int prevPartition) {
    rechoose.computeIfAbsent(topic, t -> new ConcurrentLinkedQueue<>()).add(prevPartition);
  }
}
