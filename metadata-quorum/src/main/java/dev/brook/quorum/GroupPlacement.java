package dev.brook.quorum;

import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;

/**
 * Which broker coordinates a consumer group: rendezvous (highest random weight) hashing of the
 * group id over the image's active brokers (unfenced, not shutting down). Every broker and the
 * quorum compute the same answer from the same image, so no assignment of groups is stored; when
 * a broker stops being active only its own groups move, each to the broker that ranked next for
 * it, and a broker that becomes active takes only the groups it now ranks first for.
 *
 * <p>The weight of broker {@code b} for group {@code g} is the first 64 bits of MurmurHash3
 * (x64, 128 bits, seed 0) over the UTF-8 bytes of {@code g}, a NUL byte, and the decimal node id
 * of {@code b}; the highest weight wins, ties (practically impossible) to the lower node id. A
 * client never computes this: it asks any broker (FindCoordinator).
 */
public final class GroupPlacement {
  private GroupPlacement() {}

  /** The node id of {@code groupId}'s coordinator in {@code image}, or -1 when no broker is active. */
  public static int coordinator(String groupId, MetadataImage image) {
    int best = -1;
    long bestWeight = 0;
    for (BrokerImage b : image.brokers().values()) {
      if (!b.isActive()) continue;
      long w = weight(groupId, b.nodeId());
      if (best < 0 || w > bestWeight || w == bestWeight && b.nodeId() < best) {
        best = b.nodeId();
        bestWeight = w;
      }
    }
    return best;
  }

  static long weight(String groupId, int nodeId) {
    return Hashing.murmur3_128().newHasher()
        .putString(groupId, StandardCharsets.UTF_8).putByte((byte) 0)
        .putString(Integer.toString(nodeId), StandardCharsets.UTF_8)
        .hash().asLong();
  }
}
