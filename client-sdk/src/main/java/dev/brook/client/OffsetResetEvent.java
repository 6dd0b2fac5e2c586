package dev.brook.client;

/**
 * A partition's fetch position was out of range (below the log start offset, e.g. after
 * retention deleted the records, or beyond the high watermark) and the consumer moved it per its
 * reset policy. The consumer logs each one at WARN, or hands it to
 * {@link ConsumerConfig.Builder#offsetResetListener} instead when one is set; it never skips or
 * rewinds records silently.
 *
 * @param partition the partition
 * @param offset the position that was out of range
 * @param logStartOffset the first offset the partition has (the valid range is
 *     [logStartOffset, highWatermark])
 * @param highWatermark the offset the next visible record will get
 * @param policy the reset policy that chose the new position (EARLIEST or LATEST)
 * @param resetTo the new position
 */
public record OffsetResetEvent(TopicPartition partition, long offset, long logStartOffset, long highWatermark,
    ConsumerConfig.OffsetReset policy, long resetTo) {
  /** One line for a log or a terminal. */
  public String describe() {
    return "partition " + partition + ": offset " + offset + " is out of range [" + logStartOffset + ", "
        + highWatermark + "]; reset to offset " + resetTo + " (" + policy.name().toLowerCase(java.util.Locale.ROOT)
        + ", per the reset policy)";
  }
}
