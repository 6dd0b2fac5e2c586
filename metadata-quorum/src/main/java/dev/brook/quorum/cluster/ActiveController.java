package dev.brook.quorum.cluster;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.TopicConfig;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.BrokerChange;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.HeartbeatReply;
import dev.brook.quorum.proto.PartitionChange;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The decisions of the active controller, for one leadership term of this node: broker leases
 * (heartbeats in memory, {@link BrokerHeartbeatManager}), fencing and unfencing, controlled
 * shutdown, leader election from the ISR or the eligible leader replicas (or, where a topic
 * allows it, unclean election), the ELR itself (it needs the topics' min.insync.replicas, which
 * only the controller knows) and preferred leader restore. It does no I/O and reads no
 * clock: the caller passes the current image and time and commits the returned
 * {@link ControllerBatch} (Kafka's QuorumController and etcd's raft keep decisions apart from I/O
 * the same way), which makes every rule testable with a fake clock.
 *
 * <p>Level-triggered: {@link #poll} compares the image with what should be and returns the
 * changes that close the gap, so a decision that was lost (leader change, timeout) or skipped in
 * apply (the state moved on) is simply decided again from the next image. The caller keeps at
 * most one batch in flight and polls again once it is applied.
 *
 * <p>Not thread-safe: owned by the controller thread.
 */
public final class ActiveController {
  /** Begins the part of a batch's reason that names unclean elections (logged as a warning). */
  static final String UNCLEAN_ELECTION = "UNCLEAN leader election";

  private final long sessionTimeoutMs;
  private final long imbalanceIntervalMs;
  private final BrokerHeartbeatManager heartbeats;
  /** Cluster-wide topic config defaults (this node's broker config), under the topics' overrides. */
  private final Map<String, String> topicDefaults;
  private long nextImbalanceCheckMs;
  /** The image of the previous poll: to notice preferred replicas that just rejoined an ISR. */
  private MetadataImage previous;

  /**
   * A gap this long between two runs of the controller (which polls at least every
   * {@link QuorumController#TICK_MS}) means it was paused: leases count afresh after it.
   */
  static final long PAUSE_GAP_MS = 4 * QuorumController.TICK_MS;

  ActiveController(long sessionTimeoutMs, long imbalanceIntervalMs, Map<String, String> topicDefaults, long nowMs) {
    this(sessionTimeoutMs, imbalanceIntervalMs, topicDefaults, nowMs, null);
  }

  /**
   * @param standby what this node heard from brokers' heartbeat copies while it followed (null:
   *     nothing), observed at {@code nowMs}: seeds of the new record (see
   *     {@link BrokerHeartbeatManager})
   */
  ActiveController(long sessionTimeoutMs, long imbalanceIntervalMs, Map<String, String> topicDefaults, long nowMs,
      BrokerHeartbeatManager standby) {
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.topicDefaults = Map.copyOf(topicDefaults);
    this.imbalanceIntervalMs = imbalanceIntervalMs;
    this.heartbeats = new BrokerHeartbeatManager(sessionTimeoutMs, nowMs, PAUSE_GAP_MS);
    if (standby != null) heartbeats.seedFrom(standby);
    this.nextImbalanceCheckMs = nowMs + imbalanceIntervalMs;
  }

  /** A standby record for a voter that is not the leader, listening from {@code nowMs}. */
  static BrokerHeartbeatManager newStandby(long sessionTimeoutMs, long nowMs) {
    return new BrokerHeartbeatManager(sessionTimeoutMs, nowMs, PAUSE_GAP_MS);
  }

  /**
   * A broker's heartbeat. Records it when its epoch is current; the state changes it asks for
   * (unfence, shutdown) are decided by the next {@link #poll}.
   */
  HeartbeatReply heartbeat(MetadataImage image, int nodeId, long brokerEpoch, boolean wantShutdown, long nowMs) {
    BrokerImage b = image.brokers().get(nodeId);
    if (b == null || b.brokerEpoch() != brokerEpoch || b.leaseExpired()) {
      // Unknown, superseded, or fenced for an expired lease: the broker must register again.
      return HeartbeatReply.newBuilder().setErrorCode(ErrorCode.STALE_BROKER_EPOCH_VALUE).setFenced(true).build();
    }
    heartbeats.observe(nowMs);
    BrokerHeartbeatManager.Contact before = heartbeats.contact(nodeId, brokerEpoch);
    // Once asked, a shutdown stays asked for this epoch (a late heartbeat must not undo it).
    heartbeats.touch(nodeId, brokerEpoch, wantShutdown || (before != null && before.wantShutdown()), nowMs);
    boolean leadsNothing = true;
    for (TopicImage t : image.topics().values()) {
      for (PartitionImage p : t.partitions()) {
        if (p.leaderId() == nodeId) leadsNothing = false;
      }
    }
    boolean ready = wantShutdown && (b.fenced() || b.shuttingDown()) && leadsNothing;
    return HeartbeatReply.newBuilder().setErrorCode(ErrorCode.NONE_VALUE).setFenced(b.fenced()).setShutdownReady(ready).build();
  }

  /** Whether a heartbeat asks for something only a poll does (unfence, shutdown): poll soon. */
  static boolean wantsAction(MetadataImage image, int nodeId, boolean wantShutdown) {
    BrokerImage b = image.brokers().get(nodeId);
    return b != null && (b.fenced() && !b.leaseExpired() && !wantShutdown
        || wantShutdown && !b.shuttingDown() && !b.fenced());
  }

  /**
   * When the next lease of {@code image} runs out if nothing is heard (ms), or {@link
   * Long#MAX_VALUE} when no unfenced broker holds one: the controller polls at that instant, so
   * a dead broker is fenced as soon as its session ends rather than at the next tick.
   */
  long nextLeaseExpiryMs(MetadataImage image) {
    long next = Long.MAX_VALUE;
    for (BrokerImage b : image.brokers().values()) {
      if (!b.fenced()) next = Math.min(next, heartbeats.expiryMs(b.nodeId(), b.brokerEpoch()));
    }
    return next;
  }

  Map<Integer, Long> heartbeatAges(long nowMs) {
    return heartbeats.ages(nowMs);
  }

  /** The controller runs at {@code nowMs} (see {@link BrokerHeartbeatManager#observe}). */
  void observe(long nowMs) {
    heartbeats.observe(nowMs);
  }

  /** The changes the image needs now, or null when none. */
  ControllerBatch poll(MetadataImage image, long nowMs) {
    heartbeats.observe(nowMs);
    heartbeats.retain(image.brokers().keySet());
    ControllerBatch.Builder batch = ControllerBatch.newBuilder();
    List<String> reasons = new ArrayList<>();
    Map<Integer, Boolean> activeAfter = new HashMap<>();
    for (BrokerImage b : image.brokers().values()) {
      BrokerHeartbeatManager.Contact c = heartbeats.contact(b.nodeId(), b.brokerEpoch());
      boolean wantShutdown = c != null && c.wantShutdown();
      boolean fenced = b.fenced();
      boolean shuttingDown = b.shuttingDown();
      boolean expired = false;
      if (!fenced && heartbeats.expired(b.nodeId(), b.brokerEpoch(), nowMs)) {
        fenced = true;
        expired = true;
        reasons.add("broker " + b.nodeId() + " lease expired");
      } else if (fenced && !b.leaseExpired() && !shuttingDown && !wantShutdown
          && heartbeats.alive(b.nodeId(), b.brokerEpoch(), nowMs)) {
        fenced = false;
        reasons.add("broker " + b.nodeId() + " unfenced");
      }
      if (!fenced && !shuttingDown && wantShutdown) {
        shuttingDown = true;
        reasons.add("broker " + b.nodeId() + " controlled shutdown");
      }
      if (fenced != b.fenced() || shuttingDown != b.shuttingDown()) {
        BrokerChange.Builder change = BrokerChange.newBuilder().setNodeId(b.nodeId()).setBrokerEpoch(b.brokerEpoch());
        if (fenced != b.fenced()) change.setFenced(fenced);
        if (shuttingDown != b.shuttingDown()) change.setShuttingDown(shuttingDown);
        if (expired) change.setLeaseExpired(true);
        batch.addBrokers(change);
      }
      activeAfter.put(b.nodeId(), !fenced && !shuttingDown);
    }
    java.util.function.IntPredicate active = id -> activeAfter.getOrDefault(id, false);

    boolean imbalanceDue = nowMs >= nextImbalanceCheckMs;
    if (imbalanceDue) nextImbalanceCheckMs = nowMs + imbalanceIntervalMs;
    Set<String> rejoined = rejoinedPreferred(image);
    int elected = 0;
    int preferred = 0;
    List<String> unclean = new ArrayList<>();
    for (TopicImage t : image.topics().values()) {
      boolean uncleanAllowed = Boolean.parseBoolean(
          TopicConfig.value(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE, t.configs(), topicDefaults));
      int minIsr = Integer.parseInt(TopicConfig.value(TopicConfig.MIN_INSYNC_REPLICAS, t.configs(), topicDefaults));
      for (PartitionImage p : t.partitions()) {
        PartitionChange c = PartitionChanges.reconcile(t, p, active, uncleanAllowed, minIsr);
        if (c != null) {
          elected++;
          if (PartitionChanges.isUnclean(p, c)) unclean.add(t.name() + "-" + p.partition() + " to " + c.getLeaderId());
        } else if (imbalanceDue || rejoined.contains(t.topicId() + "-" + p.partition())) {
          c = PartitionChanges.preferred(t, p, active);
          if (c != null) preferred++;
        }
        if (c != null) batch.addPartitions(c);
      }
    }
    previous = image;
    if (elected > 0) reasons.add(elected + " partitions re-elected, ISRs shrunk or ELRs changed");
    if (preferred > 0) reasons.add(preferred + " preferred leaders restored");
    // Said in the reason, which the controller logs: records acknowledged by the old ISR may be lost.
    if (!unclean.isEmpty()) reasons.add(UNCLEAN_ELECTION + " (acknowledged records may be lost) of " + String.join(", ", unclean));
    if (batch.getBrokersCount() == 0 && batch.getPartitionsCount() == 0) return null;
    return batch.setReason(String.join("; ", reasons)).build();
  }

  /** Partitions (topic id-partition) whose preferred replica is in the ISR now but was not at the previous poll. */
  private Set<String> rejoinedPreferred(MetadataImage image) {
    Set<String> out = new HashSet<>();
    if (previous == null) return out;
    for (TopicImage t : image.topics().values()) {
      TopicImage before = previous.topic(t.name());
      if (before == null || !before.topicId().equals(t.topicId())) continue;
      for (PartitionImage p : t.partitions()) {
        if (p.partition() >= before.partitions().size()) continue;
        PartitionImage old = before.partitions().get(p.partition());
        if (p.isr().contains(p.preferredLeader()) && !old.isr().contains(p.preferredLeader())) {
          out.add(t.topicId() + "-" + p.partition());
        }
      }
    }
    return out;
  }

  /** Brokers this term has heard from (for tests and logs). */
  Set<Integer> heard() {
    return new TreeSet<>(heartbeats.ages(Long.MAX_VALUE).keySet());
  }
}
