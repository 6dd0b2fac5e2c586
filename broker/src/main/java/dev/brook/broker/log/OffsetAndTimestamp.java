package dev.brook.broker.log;

/** A record found by {@link PartitionLog#offsetForTimestamp}: its offset and its timestamp. */
public record OffsetAndTimestamp(long offset, long timestamp) {}
