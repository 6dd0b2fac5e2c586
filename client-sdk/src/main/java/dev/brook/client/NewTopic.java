package dev.brook.client;

import java.util.Map;

/**
 * A topic to create. {@code partitions} and {@code replicationFactor} null take the cluster
 * defaults (num.partitions, default.replication.factor); a value that is given is used as is, so
 * 0 or a negative number fails the topic with INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR.
 * {@code configs} are overrides such as {@code retention.ms}.
 */
public record NewTopic(String name, Integer partitions, Integer replicationFactor, Map<String, String> configs) {
  public NewTopic {
    configs = configs == null ? Map.of() : Map.copyOf(configs);
  }

  public NewTopic(String name, Integer partitions, Integer replicationFactor) {
    this(name, partitions, replicationFactor, Map.of());
  }

  /** A topic with the cluster's default partition count and replication factor. */
  public static NewTopic withDefaults(String name, Map<String, String> configs) {
    return new NewTopic(name, null, null, configs);
  }
}
