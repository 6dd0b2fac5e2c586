package dev.brook.broker.log;

import dev.brook.protocol.TopicConfig;
import java.util.Map;

/**
 * The settings of one partition log, resolved from a topic's effective configuration
 * ({@link TopicConfig#effective}). Immutable; {@link PartitionLog#updateConfig} swaps the whole
 * object when the topic config is altered, so a writer always sees one consistent set.
 *
 * <p>Defaults and ranges are those of {@link TopicConfig}; a missing key takes its default, an
 * invalid value fails with {@link IllegalArgumentException} (the quorum validates overrides
 * before they reach a broker, so that means a bug, not user input).
 */
public final class LogConfig {
  private static final LogConfig DEFAULTS = from(Map.of());

  private final int segmentBytes;
  private final long segmentMs;
  private final long retentionMs;
  private final long retentionBytes;
  private final int maxMessageBytes;
  private final int indexIntervalBytes;
  private final long flushMessages;
  private final long flushMs;

  private LogConfig(Map<String, String> config) {
    segmentBytes = (int) get(config, TopicConfig.SEGMENT_BYTES);
    segmentMs = get(config, TopicConfig.SEGMENT_MS);
    retentionMs = get(config, TopicConfig.RETENTION_MS);
    retentionBytes = get(config, TopicConfig.RETENTION_BYTES);
    maxMessageBytes = (int) get(config, TopicConfig.MAX_MESSAGE_BYTES);
    indexIntervalBytes = (int) get(config, TopicConfig.INDEX_INTERVAL_BYTES);
    flushMessages = get(config, TopicConfig.FLUSH_MESSAGES);
    flushMs = get(config, TopicConfig.FLUSH_MS);
  }

  /** The log settings of a topic's effective config map; keys that are not log settings are ignored. */
  public static LogConfig from(Map<String, String> effectiveTopicConfig) {
    return new LogConfig(effectiveTopicConfig);
  }

  /** Every setting at its {@link TopicConfig} default. */
  public static LogConfig defaults() {
    return DEFAULTS;
  }

  private static long get(Map<String, String> config, String name) {
    TopicConfig.Key key = TopicConfig.keys().get(name);
    String value = config.get(name);
    if (value == null) value = key.defaultValue();
    String reason = key.invalidReason(value);
    if (reason != null) throw new IllegalArgumentException(reason);
    return Long.parseLong(value.trim());
  }

  /** A segment is rolled when the next batch would take it past this many bytes. */
  public int segmentBytes() {
    return segmentBytes;
  }

  /** A segment is rolled when its first batch's max timestamp is older than this, in ms. */
  public long segmentMs() {
    return segmentMs;
  }

  /** A closed segment is deleted when its newest timestamp is older than this, in ms; -1 = never. */
  public long retentionMs() {
    return retentionMs;
  }

  /** Oldest closed segments are deleted while the log is larger than this; -1 = unlimited. */
  public long retentionBytes() {
    return retentionBytes;
  }

  /** The largest stored batch (whole frame) accepted, in bytes. */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /** Bytes of log between two offset index entries; 0 indexes every batch. */
  public int indexIntervalBytes() {
    return indexIntervalBytes;
  }

  /** fsync after this many unflushed records (default Long.MAX_VALUE: never). */
  public long flushMessages() {
    return flushMessages;
  }

  /** fsync when the oldest unflushed batch is this old, in ms, checked on append (default: never). */
  public long flushMs() {
    return flushMs;
  }

  @Override
  public String toString() {
    return "LogConfig{segmentBytes=" + segmentBytes + ", segmentMs=" + segmentMs + ", retentionMs=" + retentionMs
        + ", retentionBytes=" + retentionBytes + ", maxMessageBytes=" + maxMessageBytes
        + ", indexIntervalBytes=" + indexIntervalBytes + ", flushMessages=" + flushMessages + ", flushMs=" + flushMs + "}";
  }
}
