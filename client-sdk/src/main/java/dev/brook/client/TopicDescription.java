package dev.brook.client;

import java.util.List;
import java.util.Map;

/**
 * A topic: its id, partitions (leaders, replicas, ISR), its effective configuration (every key)
 * and the subset of it that the topic overrides (the rest are cluster defaults).
 */
public record TopicDescription(String name, String topicId, List<PartitionInfo> partitions,
    Map<String, String> configs, Map<String, String> overrides) {}
