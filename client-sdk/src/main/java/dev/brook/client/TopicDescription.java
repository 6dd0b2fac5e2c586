package dev.brook.client;

import java.util.List;
import java.util.Map;

/** A topic: its id, partitions (leaders, replicas, ISR) and effective configuration. */
public record TopicDescription(String name, String topicId, List<PartitionInfo> partitions,
    Map<String, String> configs) {}
