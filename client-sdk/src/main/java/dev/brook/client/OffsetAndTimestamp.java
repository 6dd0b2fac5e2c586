package dev.brook.client;

/** The first offset whose record timestamp is at or after a requested time, and that timestamp. */
public record OffsetAndTimestamp(long offset, long timestamp) {}
