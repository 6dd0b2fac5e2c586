package dev.brook.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The per-topic configuration keys: their names, defaults and validation. Shared by the quorum
 * (which validates overrides when a topic is created or altered) and the broker (which resolves
 * a topic's effective log settings). Names and meanings follow Kafka's topic configs.
 *
 * <p>A topic stores only its overrides; {@link #effective} merges them over the defaults.
 */
public final class TopicConfig {
  public static final String CLEANUP_POLICY = "cleanup.policy";
  public static final String RETENTION_MS = "retention.ms";
  public static final String RETENTION_BYTES = "retention.bytes";
  public static final String SEGMENT_BYTES = "segment.bytes";
  public static final String SEGMENT_MS = "segment.ms";
  public static final String MAX_MESSAGE_BYTES = "max.message.bytes";
  public static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";
  public static final String INDEX_INTERVAL_BYTES = "index.interval.bytes";
  public static final String FLUSH_MESSAGES = "flush.messages";
  public static final String FLUSH_MS = "flush.ms";
  public static final String UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";

  /** A known key: its default and its allowed range or values. */
  public record Key(String name, String defaultValue, long min, long max, String[] choices, String doc) {
    /** Returns null when {@code value} is valid for this key, otherwise why not. */
    public String invalidReason(String value) {
      if (choices != null) {
        for (String c : choices) {
          if (c.equals(value)) return null;
        }
        return name + " must be one of " + String.join(", ", choices) + ", got '" + value + "'";
      }
      long v;
      try {
        v = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        return name + " must be a whole number, got '" + value + "'";
      }
      if (v < min || v > max) {
        return name + " must be between " + min + " and " + max + ", got " + v;
      }
      return null;
    }
  }

  private static final Map<String, Key> KEYS;

  static {
    Map<String, Key> keys = new LinkedHashMap<>();
    put(keys, new Key(CLEANUP_POLICY, "delete", 0, 0, new String[] {"delete", "compact", "compact,delete", "delete,compact"},
        "delete: drop old segments by retention.ms/retention.bytes; compact: keep the latest record per key"));
    put(keys, new Key(RETENTION_MS, "604800000", -1, Long.MAX_VALUE, null,
        "how long a closed segment is kept after its newest record, in ms; -1 keeps it forever"));
    put(keys, new Key(RETENTION_BYTES, "-1", -1, Long.MAX_VALUE, null,
        "the size a partition's log may reach before its oldest segments are deleted; -1 = unlimited"));
    put(keys, new Key(SEGMENT_BYTES, "1073741824", 1024, Integer.MAX_VALUE, null,
        "a segment file is rolled when the next batch would take it past this size"));
    put(keys, new Key(SEGMENT_MS, "604800000", 1, Long.MAX_VALUE, null,
        "a segment is rolled when its first batch is older than this, in ms, even if not full"));
    put(keys, new Key(MAX_MESSAGE_BYTES, "1048576", 0, Integer.MAX_VALUE, null,
        "the largest record batch the broker accepts for this topic, in bytes"));
    put(keys, new Key(MIN_INSYNC_REPLICAS, "1", 1, Integer.MAX_VALUE, null,
        "acks=all fails with NOT_ENOUGH_REPLICAS when fewer replicas are in sync"));
    put(keys, new Key(INDEX_INTERVAL_BYTES, "4096", 0, Integer.MAX_VALUE, null,
        "bytes of log between two entries of the sparse offset index"));
    put(keys, new Key(FLUSH_MESSAGES, String.valueOf(Long.MAX_VALUE), 1, Long.MAX_VALUE, null,
        "fsync the log after this many records; by default durability comes from replication and the OS"));
    put(keys, new Key(FLUSH_MS, String.valueOf(Long.MAX_VALUE), 0, Long.MAX_VALUE, null,
        "fsync the log when its oldest unflushed batch is this old, in ms"));
    put(keys, new Key(UNCLEAN_LEADER_ELECTION_ENABLE, "false", 0, 0, new String[] {"true", "false"},
        "when no in-sync replica is alive, let an out-of-sync replica lead: available again, but acknowledged records may be lost"));
    KEYS = Collections.unmodifiableMap(keys);
  }

  private static void put(Map<String, Key> keys, Key key) {
    keys.put(key.name(), key);
  }

  private TopicConfig() {}

  /** Every known key, in documentation order. */
  public static Map<String, Key> keys() {
    return KEYS;
  }

  /** Returns null when every override names a known key with a valid value, else the first problem. */
  public static String invalidReason(Map<String, String> overrides) {
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      Key key = KEYS.get(e.getKey());
      if (key == null) return "unknown topic config '" + e.getKey() + "'";
      String reason = key.invalidReason(e.getValue());
      if (reason != null) return reason;
    }
    return null;
  }

  /** The effective value of one key: the override, else the cluster default, else the built-in default. */
  public static String value(String name, Map<String, String> overrides, Map<String, String> clusterDefaults) {
    Key key = KEYS.get(name);
    if (key == null) throw new IllegalArgumentException("unknown topic config '" + name + "'");
    String v = overrides.get(name);
    if (v == null) v = clusterDefaults.get(name);
    return v == null ? key.defaultValue() : v.trim();
  }

  /**
   * The effective value of every key: the topic's override, else the cluster default from
   * {@code clusterDefaults} (broker config), else the built-in default. Sorted by key.
   */
  public static Map<String, String> effective(Map<String, String> overrides, Map<String, String> clusterDefaults) {
    Map<String, String> out = new TreeMap<>();
    for (Key key : KEYS.values()) out.put(key.name(), value(key.name(), overrides, clusterDefaults));
    return out;
  }
}
