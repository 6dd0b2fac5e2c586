package dev.brook.broker.group;

import java.util.Comparator;
import java.util.Objects;

/** One partition of a topic, by topic name; ordered by topic, then partition. */
public record TopicPartition(String topic, int partition) implements Comparable<TopicPartition> {
  private static final Comparator<TopicPartition> ORDER =
      Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

  public TopicPartition {
    Objects.requireNonNull(topic, "topic");
    if (partition < 0) throw new IllegalArgumentException("partition must be >= 0, got " + partition);
  }

  @Override
  public int compareTo(TopicPartition o) {
    return ORDER.compare(this, o);
  }

  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}
