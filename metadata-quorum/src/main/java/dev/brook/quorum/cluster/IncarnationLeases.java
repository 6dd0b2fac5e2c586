package dev.brook.quorum.cluster;

import dev.brook.quorum.BrokerImage;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which incarnation of each node id the active controller heard from lately: the evidence the
 * leader uses to refuse a second node that registers with a node id a live node holds.
 *
 * <p>Rules ({@link #state}): a node's incarnation is {@link State#LIVE} when this leader heard
 * from it (an accepted registration or a heartbeat answered NONE) within the session timeout;
 * {@link State#UNKNOWN} when it did not but this node became the active controller less than a
 * session timeout ago (the previous leader's knowledge is lost: every registration gets a full
 * session, as {@link BrokerHeartbeatManager} gives every lease), or is not the active controller
 * at all; {@link State#EXPIRED} otherwise. The validator additionally treats a registration whose
 * lease expired as never live (it is fenced for good: {@code BrokerImage.leaseExpired}).
 *
 * <p>This is leader-local, unreplicated state: its verdicts are stamped into the RegisterBroker
 * command by the leader (startTransaction), never recomputed when applying.
 *
 * <p>Thread-safe (the controller thread writes, Ratis' request threads read); time is passed in
 * (ms of a monotonic clock).
 */
public final class IncarnationLeases {
  private record Contact(String incarnationId, long lastMs) {}

  /** What this leader knows of one incarnation's lease. */
  enum State {
    /** Heard from within the session timeout. */
    LIVE,
    /** Not heard from, but this leader is too new (or not active) to tell. */
    UNKNOWN,
    /** Not heard from for a whole session while this leader was active: dead as far as it knows. */
    EXPIRED
  }

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

  /** What this leader knows of the lease of {@code incarnationId} of {@code nodeId}. */
  State state(int nodeId, String incarnationId, long nowMs) {
    Contact c = contacts.get(nodeId);
    if (c != null && c.incarnationId().equals(incarnationId) && nowMs - c.lastMs() <= sessionTimeoutMs) return State.LIVE;
    long since = activeSinceMs;
    if (since == Long.MIN_VALUE || nowMs - since <= sessionTimeoutMs) return State.UNKNOWN;
    return State.EXPIRED;
  }

  /** Ms since this leader last heard from {@code incarnationId} of {@code nodeId}, or -1 if it did not. */
  long ageMs(int nodeId, String incarnationId, long nowMs) {
    Contact c = contacts.get(nodeId);
    return c != null && c.incarnationId().equals(incarnationId) ? nowMs - c.lastMs() : -1;
  }
}
