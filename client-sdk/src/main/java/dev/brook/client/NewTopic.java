package dev.brook.client;

import java.util.Map;

/**
 * A topic to create. {@code partitions} and {@code replicationFactor} 0 take the cluster defaults;
 * {@code configs} are overrides such as {@code retention.ms}.
 */
public record NewTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
  public NewTopic {
    configs = configs == null ? Map.of() : Map.copyOf(configs);
  }

  public NewTopic(String name, int partitions, int replicationFactor) {
    this(name, partitions, replicationFactor, Map.of());
  }
}
