package dev.brook.client;

/**
 * A committed offset of a consumer group: the offset of the next record to consume, the leader
 * epoch of the last consumed record (-1 if not known) and a free-form string (at most 4096
 * characters).
 */
public record OffsetAndMetadata(long offset, int leaderEpoch, String metadata) {
  public OffsetAndMetadata {
    if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    metadata = metadata == null ? "" : metadata;
    if (metadata.length() > 4096) throw new IllegalArgumentException("metadata has more than 4096 characters");
  }

  public OffsetAndMetadata(long offset) {
    this(offset, -1, "");
  }
}
