package dev.brook.quorum.cluster;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * An in-memory record of broker heartbeats (Kafka's BrokerHeartbeatManager). Heartbeats are not
 * logged. The active controller keeps one from the heartbeats it answers; every other voter keeps
 * a standby one from the copies brokers send it ({@code heartbeat_copy} in quorum.proto).
 *
 * <p>A new leader's record starts afresh but is {@linkplain #seedFrom seeded} with its standby
 * record: a broker it heard from as a follower has its session counted from that last contact,
 * so a broker that died together with the previous leader (one process holding both) is fenced
 * a session after its death, not a session after the election. A broker without a seed (never
 * copied, or of another epoch) gets a full session from the leader's start, as before, since the
 * new leader cannot know when its predecessor last heard from it. Seeds only end sessions: they
 * never unfence a broker nor count as its contact ({@link #alive}, {@link #contact}), because a
 * copy carries no shutdown request and is not answered with a decision.
 *
 * <p>A lease is "not heard from for a session while this leader was listening": when the
 * controller itself did not run for longer than {@code pauseGapMs} (a JVM or host pause, a
 * SIGSTOP), heartbeats sent meanwhile were never processed, so every session counts again from
 * the end of the gap, as on a new leader. Without that, a leader resuming from a pause would
 * fence every broker at once (seen in a fault run: a 3 s pause of the quorum leader fenced all
 * three brokers and collapsed a partition's ISR onto a replica that was repairing its log).
 *
 * <p>Not thread-safe: owned by the controller thread. Time is passed in (ms of a monotonic clock).
 */
public final class BrokerHeartbeatManager {
  /** What the leader last heard from one broker. */
  record Contact(long brokerEpoch, long lastMs, boolean wantShutdown) {}

  private final long sessionTimeoutMs;
  private final long pauseGapMs;
  private final Map<Integer, Contact> contacts = new HashMap<>();
  /** What this node heard as a follower, by node id ({@link #seedFrom}); dropped by a pause. */
  private final Map<Integer, Contact> seeds = new HashMap<>();
  /** Seeds count from here at the earliest: the standby record's own listening start. */
  private long seedsSinceMs;
  /** Sessions count from here at the earliest: this leader's start, or the end of its last pause. */
  private long listeningSinceMs;
  private long lastObservedMs;

  /**
   * @param startMs when this node became leader: every broker's session counts from here at the earliest
   * @param pauseGapMs a gap between two observations longer than this is a pause of the controller
   */
  BrokerHeartbeatManager(long sessionTimeoutMs, long startMs, long pauseGapMs) {
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.pauseGapMs = pauseGapMs;
    this.listeningSinceMs = startMs;
    this.lastObservedMs = startMs;
  }

  /**
   * The controller runs at {@code nowMs} (every poll and heartbeat, before any expiry check):
   * after a gap longer than the pause gap, sessions count afresh from now.
   */
  void observe(long nowMs) {
    if (nowMs - lastObservedMs > pauseGapMs) {
      listeningSinceMs = nowMs;
      seeds.clear();
    }
    lastObservedMs = Math.max(lastObservedMs, nowMs);
  }

  /**
   * Takes over what {@code standby} (this node's record from heartbeat copies while it followed)
   * heard, as seeds of a leader record that was just created. The caller observes the standby
   * record at the leader's start first, so a pause of this node just before it won the election
   * leaves seeds that count from the end of that pause, never from before it.
   */
  void seedFrom(BrokerHeartbeatManager standby) {
    seeds.clear();
    seeds.putAll(standby.contacts);
    seedsSinceMs = standby.listeningSinceMs;
  }

  /** When {@code nodeId}'s session at {@code brokerEpoch} counts from (ms). */
  private long sessionStartMs(int nodeId, long brokerEpoch) {
    Contact c = contact(nodeId, brokerEpoch);
    if (c != null) return Math.max(listeningSinceMs, c.lastMs());
    Contact seed = seeds.get(nodeId);
    if (seed != null && seed.brokerEpoch() == brokerEpoch) {
      // Heard by this node before it led: never later than this leader's own start.
      return Math.min(listeningSinceMs, Math.max(seedsSinceMs, seed.lastMs()));
    }
    return listeningSinceMs;
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
   * epoch for a whole session, counted from the later of its last heartbeat and the time this
   * leader started listening (its start, or the end of its last pause); without a heartbeat to
   * this leader, from its seed when it has one (see the class comment).
   */
  boolean expired(int nodeId, long brokerEpoch, long nowMs) {
    return nowMs - sessionStartMs(nodeId, brokerEpoch) > sessionTimeoutMs;
  }

  /**
   * The first time (ms) at which {@link #expired} turns true for {@code nodeId} at {@code
   * brokerEpoch}, unless it is heard from before then.
   */
  long expiryMs(int nodeId, long brokerEpoch) {
    return sessionStartMs(nodeId, brokerEpoch) + sessionTimeoutMs + 1;
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
    seeds.keySet().retainAll(registered);
  }
}
