package dev.brook.quorum.cluster;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The quorum leader's in-memory record of broker heartbeats (Kafka's BrokerHeartbeatManager):
 * heartbeats are not logged, so this exists only on the active controller and starts afresh on
 * every new leader, which gives each known broker a full session before fencing anything (it
 * cannot know when the previous leader last heard from them).
 *
 * <p>Not thread-safe: owned by the controller thread. Time is passed in (ms of a monotonic clock).
 */
public final class BrokerHeartbeatManager {
  /** What the leader last heard from one broker. */
  record Contact(long brokerEpoch, long lastMs, boolean wantShutdown) {}

  private final long sessionTimeoutMs;
  private final long startMs;
  private final Map<Integer, Contact> contacts = new HashMap<>();

  /** @param startMs when this node became leader: every broker's session counts from here at the earliest */
  BrokerHeartbeatManager(long sessionTimeoutMs, long startMs) {
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.startMs = startMs;
  }

  /** Records a heartbeat whose epoch was checked against the image. */
  void touch(int nodeId, long brokerEpoch, boolean wantShutdown, long nowMs) {
    contacts.put(nodeId, new Contact(brokerEpoch, nowMs, wantShutdown));
  }

  /** The last heartbeat of {@code nodeId} with {@code brokerEpoch}, or null. */
  Contact contact(int nodeId, long brokerEpoch) {
    Contact c = contacts.get(nodeId);
    return c != null && c.brokerEpoch() == brokerEpoch ? c : null;
  }

  /**
   * Whether the lease of {@code nodeId} at {@code brokerEpoch} ran out: no heartbeat with that
   * epoch for a whole session, counted from the later of its last heartbeat and this leader's start.
   */
  boolean expired(int nodeId, long brokerEpoch, long nowMs) {
    Contact c = contact(nodeId, brokerEpoch);
    long last = Math.max(startMs, c == null ? startMs : c.lastMs());
    return nowMs - last > sessionTimeoutMs;
  }

  /**
   * The first time (ms) at which {@link #expired} turns true for {@code nodeId} at {@code
   * brokerEpoch}, unless it is heard from before then.
   */
  long expiryMs(int nodeId, long brokerEpoch) {
    Contact c = contact(nodeId, brokerEpoch);
    return Math.max(startMs, c == null ? startMs : c.lastMs()) + sessionTimeoutMs + 1;
  }

  /** Whether {@code nodeId} holds a live lease at {@code brokerEpoch} (heard within the session). */
  boolean alive(int nodeId, long brokerEpoch, long nowMs) {
    Contact c = contact(nodeId, brokerEpoch);
    return c != null && nowMs - c.lastMs() <= sessionTimeoutMs;
  }

  /** Node id to ms since its last heartbeat, for the brokers heard from since this leader started; sorted. */
  Map<Integer, Long> ages(long nowMs) {
    Map<Integer, Long> out = new TreeMap<>();
    for (Map.Entry<Integer, Contact> e : contacts.entrySet()) out.put(e.getKey(), nowMs - e.getValue().lastMs());
    return out;
  }

  /** Forgets brokers that are no longer registered. */
  void retain(java.util.Set<Integer> registered) {
    contacts.keySet().retainAll(registered);
  }
}
