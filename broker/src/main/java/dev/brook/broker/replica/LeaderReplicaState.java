package dev.brook.broker.replica;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a partition leader knows about its followers, and the decisions it takes from that: the
 * high watermark and the ISR changes to propose (Kafka's {@code Partition} leader logic, without
 * I/O). No sockets, disks or clocks: callers pass the time and the leader's log end offset, and
 * send the returned {@link IsrChange} to the quorum themselves.
 *
 * <p>Invariants.
 * <ul>
 *   <li>The high watermark is the minimum log end offset over the <em>maximal ISR</em>: the ISR of
 *       the latest image, plus the members of an ISR change in flight. While an expansion is in
 *       flight the new member already counts (it must have the records an acks=all produce is
 *       acknowledged with, as it may be in the ISR by the time the answer arrives); while a
 *       shrink is in flight the leaving member still counts, so nothing is acknowledged with
 *       fewer replicas than the ISR the quorum might still hold. A follower whose position is not
 *       known since this leadership began holds the high watermark where it is.
 *   <li>The high watermark never moves backwards and never passes the leader's log end offset.
 *   <li>At most one ISR change is in flight. After INVALID_UPDATE_VERSION or FENCED_LEADER_EPOCH
 *       nothing is proposed until a newer image arrives; the ISR the quorum returns (or the next
 *       image shows) is applied as it is: the quorum is the truth, never this object.
 *   <li>A follower joins the ISR only when its log end offset is at least the high watermark and
 *       the start offset of this leader's epoch (so it has everything this leader acknowledged),
 *       its broker is registered, unfenced and not shutting down, and it fetched with its current
 *       broker epoch (KIP-903: a restarted broker that lost unflushed data cannot slip back in
 *       on an old registration). It leaves the ISR when it has not been caught up to the leader's
 *       log end for {@code replicaLagTimeMaxMs}, or its fetch stream closed and it has not
 *       fetched again for {@code disconnectTimeoutMs}, or its broker is fenced, shutting down or gone,
 *       and at once when it fetches from below the high watermark (its log lost records that were
 *       committed: an unclean recovery or a repair truncated it, so it must not be elected before
 *       it has them again). The leader leaves only by resigning ({@link #proposeResign}), when
 *       its own copy of the log is corrupt and another eligible member can take over.
 * </ul>
 *
 * <p>Threading: every method is synchronized; fetch handlers, producers, the ISR maintenance task
 * and the metadata thread call in concurrently. Nothing here blocks.
 */
final class LeaderReplicaState {
  /** What the leader must know about a replica's broker from the image. */
  record BrokerStatus(long brokerEpoch, boolean fenced, boolean shuttingDown) {
    boolean eligible() {
      return !fenced && !shuttingDown;
    }
  }

  /**
   * An ISR change to send to the quorum, based on {@code partitionEpoch} under {@code leaderEpoch};
   * {@code addedBrokerEpochs}: for a member being added, the broker epoch it fetched under.
   */
  record IsrChange(int leaderEpoch, int partitionEpoch, List<Integer> newIsr, java.util.Map<Integer, Long> addedBrokerEpochs) {
    IsrChange(int leaderEpoch, int partitionEpoch, List<Integer> newIsr) {
      this(leaderEpoch, partitionEpoch, newIsr, java.util.Map.of());
    }
  }

  /** Outcome of a follower fetch: the high watermark if it moved (else -1), and an ISR change to send, or null. */
  record FetchOutcome(long newHighWatermark, IsrChange isrChange) {}

  /** How an ISR change ended, as the caller saw the quorum's answer. */
  enum AlterResult { APPLIED, REJECTED_STALE, REJECTED_RETRIABLE }

  private static final class Follower {
    long logEndOffset = -1;
    long lastCaughtUpTimeMs;
    long lastFetchTimeMs;
    long lastFetchLeaderLogEndOffset = -1;
    long brokerEpoch = -1;
    /** When its fetch stream closed after its last fetch, or -1 (cleared by the next fetch). */
    long disconnectedAtMs = -1;
  }

  private final int localId;
  private final long replicaLagTimeMaxMs;
  private final long disconnectTimeoutMs;

  private int leaderEpoch = -1;
  private int partitionEpoch = -1;
  private long epochStartOffset;
  private List<Integer> replicas = List.of();
  private List<Integer> isr = List.of();
  /**
   * The partition's eligible leader replicas as last committed: while not empty the high
   * watermark stays where it is, which is what lets each of them lead without losing a committed
   * record (KIP-966, see PartitionImage#eligibleLeaderReplicas).
   */
  private List<Integer> elr = List.of();
  private Map<Integer, BrokerStatus> brokers = Map.of();
  private final Map<Integer, Follower> followers = new HashMap<>();
  private long highWatermark;
  /** The change in flight, or null. */
  private IsrChange pending;
  /** After a stale rejection: no proposals until an image newer than this partition epoch. */
  private int blockedUntilNewerThan = -1;
  private boolean blocked;
  /** After a retriable rejection: no proposals before this time, so a failing quorum is not hammered. */
  private long noProposalsBeforeMs = Long.MIN_VALUE;

  /** Pause after a retriable rejection of an ISR change. */
  static final long RETRY_BACKOFF_MS = 500;

  LeaderReplicaState(int localId, long replicaLagTimeMaxMs) {
    this(localId, replicaLagTimeMaxMs, Long.MAX_VALUE);
  }

  LeaderReplicaState(int localId, long replicaLagTimeMaxMs, long disconnectTimeoutMs) {
    this.localId = localId;
    this.replicaLagTimeMaxMs = replicaLagTimeMaxMs;
    this.disconnectTimeoutMs = disconnectTimeoutMs;
  }

  /**
   * The fetch stream of {@code replicaId} closed (its broker died, or the connection broke). If it
   * does not fetch again within the disconnect timeout, {@link #maybeShrink} removes it without
   * waiting for the lag time: a killed broker's TCP connection breaks at once, which tells the
   * leader much sooner than its lease or its lag would.
   */
  synchronized void onFollowerDisconnected(int replicaId, long nowMs) {
    Follower f = followers.get(replicaId);
    if (f != null && f.disconnectedAtMs < 0) f.disconnectedAtMs = nowMs;
  }

  /**
   * This broker leads from now on, in {@code leaderEpoch} that started at {@code epochStartOffset}.
   * Follower positions are forgotten; members of the ISR get a full lag period from {@code nowMs}
   * before they can be removed. The high watermark is kept (it only grows from here).
   */
  synchronized void becomeLeader(int leaderEpoch, int partitionEpoch, List<Integer> replicas, List<Integer> isr,
      List<Integer> elr, Map<Integer, BrokerStatus> brokers, long epochStartOffset, long highWatermark, long nowMs) {
    this.leaderEpoch = leaderEpoch;
    this.partitionEpoch = partitionEpoch;
    this.replicas = List.copyOf(replicas);
    this.isr = List.copyOf(isr);
    this.elr = List.copyOf(elr);
    this.brokers = Map.copyOf(brokers);
    this.epochStartOffset = epochStartOffset;
    this.highWatermark = Math.max(this.highWatermark, highWatermark);
    this.pending = null;
    this.blocked = false;
    this.noProposalsBeforeMs = Long.MIN_VALUE;
    followers.clear();
    for (int r : replicas) {
      if (r == localId) continue;
      Follower f = new Follower();
      f.lastCaughtUpTimeMs = isr.contains(r) ? nowMs : 0;
      followers.put(r, f);
    }
  }

  /**
   * A newer image for the same leadership (same leader epoch): applies its ISR and partition
   * epoch when not older than what is known, ends a pending change the image supersedes, and
   * lifts a block after a stale rejection.
   */
  synchronized void onImage(int partitionEpoch, List<Integer> replicas, List<Integer> isr, List<Integer> elr,
      Map<Integer, BrokerStatus> brokers, long nowMs) {
    this.brokers = Map.copyOf(brokers);
    if (partitionEpoch < this.partitionEpoch) return;
    if (!replicas.equals(this.replicas)) {
      for (int r : replicas) {
        if (r != localId && !followers.containsKey(r)) followers.put(r, new Follower());
      }
      followers.keySet().retainAll(replicas);
      this.replicas = List.copyOf(replicas);
    }
    if (partitionEpoch > this.partitionEpoch) {
      applyIsr(partitionEpoch, isr, elr, nowMs);
      if (pending != null && pending.partitionEpoch() < partitionEpoch) pending = null;
      if (blocked && partitionEpoch > blockedUntilNewerThan) blocked = false;
    }
  }

  private void applyIsr(int newPartitionEpoch, List<Integer> newIsr, List<Integer> newElr, long nowMs) {
    for (int r : newIsr) {
      Follower f = followers.get(r);
      // A member that just joined starts its lag clock now.
      if (f != null && !isr.contains(r)) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    }
    this.partitionEpoch = newPartitionEpoch;
    this.isr = List.copyOf(newIsr);
    this.elr = List.copyOf(newElr);
  }

  /**
   * The quorum answered the change in flight. APPLIED carries the partition epoch and ISR the
   * quorum committed; REJECTED_STALE (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH) waits for a
   * newer image; REJECTED_RETRIABLE (ineligible replica, stale broker epoch, quorum unavailable)
   * allows a new proposal at the next occasion. Answers to anything but the change in flight are
   * ignored.
   */
  synchronized void onAlterPartitionResult(IsrChange sent, AlterResult result, int newPartitionEpoch,
      List<Integer> newIsr, List<Integer> newElr, long nowMs) {
    if (pending != sent) return;
    pending = null;
    switch (result) {
      case APPLIED -> {
        if (newPartitionEpoch > partitionEpoch) applyIsr(newPartitionEpoch, newIsr, newElr, nowMs);
      }
      case REJECTED_STALE -> {
        blocked = true;
        blockedUntilNewerThan = partitionEpoch;
      }
      case REJECTED_RETRIABLE -> noProposalsBeforeMs = nowMs + RETRY_BACKOFF_MS;
    }
  }

  /**
   * A follower fetched at {@code fetchOffset} (its log end offset) while this leader's log ended
   * at {@code leaderLogEndOffset}. Updates its position and lag (Kafka's rule: caught up when
   * it fetched at the leader's end, or at least at the leader's end as of its previous fetch,
   * which makes it caught up as of then), advances the high watermark, and proposes adding it to
   * the ISR when it qualifies.
   */
  synchronized FetchOutcome onFollowerFetch(int replicaId, long replicaBrokerEpoch, long fetchOffset,
      long leaderLogEndOffset, long nowMs) {
    Follower f = followers.get(replicaId);
    if (f == null) return new FetchOutcome(-1, null);
    if (fetchOffset >= leaderLogEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    } else if (f.lastFetchLeaderLogEndOffset >= 0 && fetchOffset >= f.lastFetchLeaderLogEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    }
    f.logEndOffset = fetchOffset;
    f.disconnectedAtMs = -1;
    f.brokerEpoch = replicaBrokerEpoch;
    f.lastFetchLeaderLogEndOffset = leaderLogEndOffset;
    f.lastFetchTimeMs = nowMs;
    long hw = maybeAdvanceHighWatermark(leaderLogEndOffset);
    if (isr.contains(replicaId) && fetchOffset < highWatermark) {
      return new FetchOutcome(hw, removeAtOnce(replicaId, nowMs));
    }
    return new FetchOutcome(hw, maybeExpand(replicaId, f, nowMs));
  }

  /** Proposes the ISR without {@code replicaId}, which lost committed records. */
  private IsrChange removeAtOnce(int replicaId, long nowMs) {
    if (pending != null || blocked || nowMs < noProposalsBeforeMs) return null;
    List<Integer> next = new ArrayList<>(isr);
    next.remove(Integer.valueOf(replicaId));
    pending = new IsrChange(leaderEpoch, partitionEpoch, List.copyOf(next));
    return pending;
  }

  /**
   * Proposes the ISR without this leader, so that the quorum moves leadership to another eligible
   * member: this replica's log is corrupt. Null when no other member is eligible (then nobody can
   * take over and this replica keeps leading what it can serve), a change is in flight, or
   * proposals wait; the caller retries periodically.
   */
  synchronized IsrChange proposeResign(long nowMs) {
    if (pending != null || blocked || nowMs < noProposalsBeforeMs) return null;
    List<Integer> next = successors();
    if (next.isEmpty()) return null;
    pending = new IsrChange(leaderEpoch, partitionEpoch, List.copyOf(next));
    return pending;
  }

  /** Whether another ISR member (or, with none, an eligible leader replica) could take over from this leader now. */
  synchronized boolean hasEligibleSuccessor() {
    return !successors().isEmpty();
  }

  /**
   * Who could lead in this leader's place: the ISR members that can take over; with none, the
   * eligible leader replicas whose brokers are active (they hold every committed record by the
   * ELR's invariant, whatever this leader has seen of their positions).
   */
  private List<Integer> successors() {
    List<Integer> out = new ArrayList<>();
    for (int r : isr) {
      if (canTakeOver(r)) out.add(r);
    }
    if (!out.isEmpty()) return out;
    for (int r : elr) {
      BrokerStatus b = brokers.get(r);
      if (r != localId && b != null && b.eligible()) out.add(r);
    }
    return out;
  }

  /**
   * Whether ISR member {@code r} could lead in this leader's place: another broker, eligible,
   * and known (from its fetches in this leadership) to have every committed record.
   */
  private boolean canTakeOver(int r) {
    if (r == localId) return false;
    BrokerStatus b = brokers.get(r);
    Follower f = followers.get(r);
    return b != null && b.eligible() && f != null && f.logEndOffset >= highWatermark;
  }

  private IsrChange maybeExpand(int replicaId, Follower f, long nowMs) {
    if (pending != null || blocked || nowMs < noProposalsBeforeMs) return null;
    if (isr.contains(replicaId) || !replicas.contains(replicaId)) return null;
    if (f.logEndOffset < highWatermark || f.logEndOffset < epochStartOffset) return null;
    BrokerStatus b = brokers.get(replicaId);
    if (b == null || !b.eligible() || b.brokerEpoch() != f.brokerEpoch) return null;
    List<Integer> next = new ArrayList<>(isr);
    next.add(replicaId);
    pending = new IsrChange(leaderEpoch, partitionEpoch, List.copyOf(next), java.util.Map.of(replicaId, f.brokerEpoch));
    return pending;
  }

  /**
   * Recomputes the high watermark from the maximal ISR. Returns it when it moved, else -1.
   * Call after every append of the leader and every follower fetch. Held while the partition has
   * eligible leader replicas: they hold every record below it, and must go on doing so.
   */
  synchronized long maybeAdvanceHighWatermark(long leaderLogEndOffset) {
    if (!elr.isEmpty()) return -1;
    long candidate = leaderLogEndOffset;
    for (int r : maximalIsr()) {
      if (r == localId) continue;
      Follower f = followers.get(r);
      long end = f == null ? -1 : f.logEndOffset;
      if (end < 0) return -1; // position unknown: hold
      candidate = Math.min(candidate, end);
    }
    if (candidate > highWatermark) {
      highWatermark = candidate;
      return candidate;
    }
    return -1;
  }

  /**
   * Proposes removing the ISR members that lag (not caught up for longer than
   * replica.lag.time.max.ms) or whose broker is fenced, shutting down or unknown. Null when
   * nothing is to change, a change is in flight, or proposals wait for a newer image.
   */
  synchronized IsrChange maybeShrink(long nowMs) {
    if (pending != null || blocked || nowMs < noProposalsBeforeMs) return null;
    List<Integer> next = new ArrayList<>();
    for (int r : isr) {
      if (r == localId) {
        next.add(r);
        continue;
      }
      Follower f = followers.get(r);
      BrokerStatus b = brokers.get(r);
      boolean lagging = f == null || nowMs - f.lastCaughtUpTimeMs > replicaLagTimeMaxMs
          || (f.disconnectedAtMs >= 0 && f.lastFetchTimeMs > 0
              && nowMs - Math.max(f.lastFetchTimeMs, f.disconnectedAtMs) > disconnectTimeoutMs);
      boolean ineligible = b == null || !b.eligible();
      if (!lagging && !ineligible) next.add(r);
    }
    if (!next.contains(localId)) next.add(0, localId);
    if (next.size() == isr.size() && next.containsAll(isr)) return null;
    pending = new IsrChange(leaderEpoch, partitionEpoch, List.copyOf(next));
    return pending;
  }

  /** The ISR of the image plus the members of a change in flight. */
  synchronized List<Integer> maximalIsr() {
    if (pending == null) return isr;
    Set<Integer> all = new LinkedHashSet<>(isr);
    all.addAll(pending.newIsr());
    return List.copyOf(all);
  }

  synchronized long highWatermark() { return highWatermark; }
  synchronized List<Integer> isr() { return isr; }
  synchronized List<Integer> eligibleLeaderReplicas() { return elr; }
  synchronized int partitionEpoch() { return partitionEpoch; }
  synchronized int leaderEpoch() { return leaderEpoch; }
  synchronized IsrChange pending() { return pending; }

  /** A follower's last known log end offset, -1 when unknown. */
  synchronized long followerLogEndOffset(int replicaId) {
    Follower f = followers.get(replicaId);
    return f == null ? -1 : f.logEndOffset;
  }
}
