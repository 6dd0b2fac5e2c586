package dev.brook.client;

/**
 * Chooses the partition of a record sent without an explicit partition. Called on the
 * application thread that calls {@code send}; implementations must be thread-safe.
 */
public interface Partitioner {
  /**
   * @param key the record key before serialization, may be null
   * @param keyBytes the serialized key, null when there is no key
   * @param numPartitions the topic's partition count, at least 1
   * @return a partition in [0, numPartitions)
   */
  int partition(String topic, Object key, byte[] keyBytes, int numPartitions);

  /**
   * The producer is about to open a new batch for {@code prevPartition}, which the partitioner
   * chose: a sticky partitioner switches to another partition here (Kafka's KIP-480). The
   * producer then calls {@link #partition} again for the same record, so a partitioner that
   * advances on every call must not count that second call as a new choice (see
   * {@link RoundRobinPartitioner}).
   */
  default void onNewBatch(String topic, int prevPartition) {}
}
