package dev.brook.quorum;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which incarnation of each node id the active controller heard from lately: the evidence the
 * leader uses to refuse a second node that registers with a node id a live node holds.
 *
 * <p>Rules: a node's incarnation is <em>live</em> when this leader heard from it (an accepted
 * registration or a heartbeat answered NONE) within the session timeout, or when this node became
 * the active controller less than a session timeout ago (the previous leader's knowledge is lost:
 * every registration gets a full session, as {@link BrokerHeartbeatManager} gives every lease).
 * When this node is not the active controller nothing is known and everything counts as live,
 * which errs on the side of refusing. The controller additionally treats a registration whose
 * lease expired as never live (it is fenced for good: {@code BrokerImage.leaseExpired}).
 *
 * <p>This is leader-local, unreplicated state: its verdicts are stamped into the RegisterBroker
 * command by the leader (startTransaction), never recomputed when applying.
 *
 * <p>Thread-safe (the controller thread writes, Ratis' request threads read); time is passed in
 * (ms of a monotonic clock).
 */
final class IncarnationLeases {
  private record Contact(String incarnationId, long lastMs) {}

  private final long sessionTimeoutMs;
  private final Map<Integer, Contact> contacts = new ConcurrentHashMap<>();
  /** When this node became the active controller; Long.MIN_VALUE while it is not. */
  private volatile long activeSinceMs = Long.MIN_VALUE;

  IncarnationLeases(long sessionTimeoutMs) {
    this.sessionTimeoutMs = sessionTimeoutMs;
  }

  /** This node became the active controller: forget what an earlier term knew. */
  void activated(long nowMs) {
    contacts.clear();
    activeSinceMs = nowMs;
  }

  void deactivated() {
    activeSinceMs = Long.MIN_VALUE;
    contacts.clear();
  }

  /** The leader heard from {@code incarnationId} of {@code nodeId} (registration or heartbeat). */
  void heard(int nodeId, String incarnationId, long nowMs) {
    if (incarnationId == null || incarnationId.isEmpty()) return;
    contacts.put(nodeId, new Contact(incarnationId, nowMs));
  }

  /** Whether {@code incarnationId} of {@code nodeId} may be alive, as far as this leader can tell. */
  boolean live(int nodeId, String incarnationId, long nowMs) {
    long since = activeSinceMs;
    if (since == Long.MIN_VALUE || nowMs - since <= sessionTimeoutMs) return true;
    Contact c = contacts.get(nodeId);
    return c != null && c.incarnationId().equals(incarnationId) && nowMs - c.lastMs() <= sessionTimeoutMs;
  }

  /** Ms since this leader last heard from {@code incarnationId} of {@code nodeId}, or -1 if it did not. */
  long ageMs(int nodeId, String incarnationId, long nowMs) {
    Contact c = contacts.get(nodeId);
    return c != null && c.incarnationId().equals(incarnationId) ? nowMs - c.lastMs() : -1;
  }
}
