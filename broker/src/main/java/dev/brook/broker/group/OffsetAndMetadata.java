package dev.brook.broker.group;

/**
 * A committed offset: the next offset the group will consume in the partition.
 *
 * @param offset the offset of the next record to consume, >= 0
 * @param leaderEpoch the leader epoch of the last consumed record, or -1 when unknown (lets a
 *     consumer that resumes from it detect a truncated log)
 * @param metadata a free-form string of the committer, at most {@link #MAX_METADATA_LENGTH} characters
 * @param commitTimestampMs when the coordinator accepted the commit (wall clock, ms)
 */
public record OffsetAndMetadata(long offset, int leaderEpoch, String metadata, long commitTimestampMs) {
  /** Kafka's default {@code offset.metadata.max.bytes}, here in characters. */
  public static final int MAX_METADATA_LENGTH = 4096;

  public OffsetAndMetadata {
    metadata = metadata == null ? "" : metadata;
  }
}
