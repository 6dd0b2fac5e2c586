package dev.brook.client;

import java.util.List;

/** A record read from a partition. {@code leaderEpoch} is the epoch of the leader that wrote it. */
public record ConsumerRecord<K, V>(String topic, int partition, long offset, long timestamp, K key,
    V value, List<Header> headers, int leaderEpoch) {}
