package dev.brook.client;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Spreads records over all partitions in turn, ignoring keys. Thread-safe. */
public final class RoundRobinPartitioner implements Partitioner {
  private final ConcurrentMap<String, AtomicInteger> counters = new ConcurrentHashMap<>();

  @Override
  public int partition(String topic, Object key, byte[] keyBytes, int numPartitions) {
    int next = counters.computeIfAbsent(topic, t -> new AtomicInteger()).getAndIncrement();
    return (next & 0x7fffffff) % numPartitions;
  }
}
