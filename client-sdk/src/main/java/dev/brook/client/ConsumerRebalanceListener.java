package dev.brook.client;

import java.util.Collection;

/**
 * Told about a subscribed consumer's partitions changing, on the thread that calls
 * {@link Consumer#poll} (as Kafka's). Rebalances are incremental: each call names only the
 * partitions that move; the others keep being consumed throughout.
 */
public interface ConsumerRebalanceListener {
  /**
   * The consumer is giving these partitions up (the group moves them to another member). Called
   * before they are released, so their offsets can still be committed here.
   */
  void onPartitionsRevoked(Collection<TopicPartition> partitions);

  /** These partitions are now the consumer's; their positions come from the committed offsets. */
  void onPartitionsAssigned(Collection<TopicPartition> partitions);

  /**
   * The consumer lost these partitions without giving them up (it was fenced, or did not poll
   * within max.poll.interval.ms): other members may own them already, so committing their
   * offsets would fail. By default the same as {@link #onPartitionsRevoked}.
   */
  default void onPartitionsLost(Collection<TopicPartition> partitions) {
    onPartitionsRevoked(partitions);
  }
}
