package dev.brook.broker.log;

/** A batch found by {@link PartitionLog#offsetForTimestamp}: its base offset and its max timestamp. */
public record OffsetAndTimestamp(long offset, long timestamp) {}
