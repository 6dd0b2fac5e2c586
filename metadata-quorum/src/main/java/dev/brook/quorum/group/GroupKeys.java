package dev.brook.quorum.group;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The group domain's column families and keys: {@code groups} (UTF-8 group id → GroupRecord) and
 * {@code offsets} (UTF-8 group id, NUL, UTF-8 topic, NUL, big-endian partition →
 * CommittedOffsetRecord), so one group's offsets are contiguous and sorted by topic and partition.
 * Group ids never contain NUL (validated), topic names never do (topic name rules). Stateless.
 */
final class GroupKeys {
  static final String GROUPS = "groups";
  static final String OFFSETS = "offsets";
  static final List<String> FAMILIES = List.of(GROUPS, OFFSETS);

  private GroupKeys() {}

  static byte[] groupKey(String groupId) {
    return groupId.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] offsetKey(String groupId, String topic, int partition) {
    byte[] g = groupId.getBytes(StandardCharsets.UTF_8);
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(g.length + 1 + t.length + 1 + 4).put(g).put((byte) 0).put(t).put((byte) 0).putInt(partition)
        .array();
  }

  /** The first key of {@code groupId}'s offsets (inclusive). */
  static byte[] offsetPrefix(String groupId) {
    byte[] g = groupId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(g.length + 1).put(g).put((byte) 0).array();
  }

  /** The key after {@code groupId}'s offsets (exclusive): the group id followed by byte 1. */
  static byte[] offsetPrefixEnd(String groupId) {
    byte[] g = groupId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(g.length + 1).put(g).put((byte) 1).array();
  }

  /**
   * The key after {@code groupId}'s offsets of {@code topic} (exclusive): the topic followed by
   * byte 1 instead of the NUL before the partition.
   */
  static byte[] offsetPrefixEnd(String groupId, String topic) {
    byte[] g = groupId.getBytes(StandardCharsets.UTF_8);
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(g.length + 1 + t.length + 1).put(g).put((byte) 0).put(t).put((byte) 1).array();
  }

  /** The group id of an offsets key. */
  static String groupOfOffsetKey(byte[] key) {
    for (int i = 0; i < key.length; i++) {
      if (key[i] == 0) return new String(key, 0, i, StandardCharsets.UTF_8);
    }
    throw new IllegalArgumentException("not an offsets key: no NUL separator");
  }
}
