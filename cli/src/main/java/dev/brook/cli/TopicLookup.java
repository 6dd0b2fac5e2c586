package dev.brook.cli;

import dev.brook.client.BrookException;
import dev.brook.client.Consumer;
import dev.brook.client.PartitionInfo;
import dev.brook.client.Producer;
import dev.brook.proto.v1.ErrorCode;
import java.time.Duration;
import java.util.List;

/**
 * The first thing {@code produce}, {@code consume} and {@code perf} do: learn the topic's
 * partitions, so that a dead broker (connection refused) or a missing topic is one clear
 * {@code error:} line at once instead of a client waiting out its 30-60 s metadata timeouts.
 * A broker that is still starting, or creating the topic, is waited for up to {@link #WAIT}.
 */
final class TopicLookup {
  /**
   * The longest a client command waits for a first metadata answer from a broker that accepts
   * connections but does not answer yet (starting, or auto-creating the topic: up to 10 s).
   */
  static final Duration WAIT = Duration.ofSeconds(15);

  private TopicLookup() {}

  /** For a producer: the topic exists, or the cluster created it (auto.create.topics.enable). */
  static List<PartitionInfo> forProducer(Producer<?, ?> producer, String topic) {
    try {
      return producer.partitionsFor(topic, WAIT);
    } catch (BrookException e) {
      if (e.code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        throw new Failures.CliException("topic '" + topic + "' does not exist and the cluster did not create it"
            + " (auto.create.topics.enable=false?); create it with 'brook topics create --topic " + topic
            + "' (UNKNOWN_TOPIC_OR_PARTITION)");
      }
      throw e;
    }
  }

  static List<PartitionInfo> forConsumer(Consumer<?, ?> consumer, String topic) {
    try {
      return consumer.partitionsFor(topic, WAIT);
    } catch (BrookException e) {
      if (e.code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        throw new Failures.CliException("topic '" + topic + "' does not exist (UNKNOWN_TOPIC_OR_PARTITION)");
      }
      throw e;
    }
  }

  /** Fails unless {@code partition} (when given) is one of the topic's partitions. */
  static void checkPartition(String topic, List<PartitionInfo> partitions, Integer partition) {
    if (partition == null) return;
    if (partition < 0 || partition >= partitions.size()) {
      throw new Failures.CliException("topic '" + topic + "' has " + partitions.size() + " partition(s) (0 to "
          + (partitions.size() - 1) + "); there is no partition " + partition);
    }
  }
}
