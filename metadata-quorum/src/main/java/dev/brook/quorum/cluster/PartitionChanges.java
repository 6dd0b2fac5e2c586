package dev.brook.quorum.cluster;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.TopicConfig;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.PartitionChange;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * The rules of partition leadership and ISR membership, as pure functions of an image: what the
 * controller decides (leader election from the ISR, preferred leader restore), what an ISR change
 * may do, and whether a logged {@link PartitionChange} still applies. The quorum leader uses them
 * to decide and apply uses them to re-check, so both sides agree by construction.
 *
 * <p>Rules (Kafka's KRaft controller, KIP-841/KIP-903/KAFKA-15021/KIP-966):
 * <ul>
 *   <li>Only active brokers (registered, unfenced, not shutting down) may lead or join an ISR.
 *   <li>A new leader comes from the ISR, in replica order; none available means leader -1.
 *   <li>Inactive brokers leave every ISR, except that an ISR never becomes empty: when no member
 *       is active it stays as it is, because its members hold every acknowledged record.
 *   <li>Eligible leader replicas (ELR, KIP-966): members that leave the ISR while it ends up
 *       smaller than min.insync.replicas enter the ELR; a leader does not advance its high
 *       watermark while the ELR is not empty, so each ELR member holds every record below it.
 *       When no ISR member is active, the first active ELR member (replica order) is elected
 *       cleanly, with an ISR of itself; the rest of the old ISR and ELR stay in the ELR. A member
 *       that rejoins the ISR leaves the ELR, and the ELR is emptied once the ISR has
 *       min.insync.replicas members (capped at the replication factor) again. Putting a replica
 *       in the ELR is always safe (it freezes the high watermark); leaving one out only narrows
 *       the choice of leaders, so apply, which knows a topic's own min.insync.replicas but not the
 *       brokers' default, adds every leaver where the topic does not set it and leaves the
 *       clearing to the controller.
 *   <li>Unclean election (only when the topic's {@code unclean.leader.election.enable} is true, and
 *       only decided by the active controller): when no ISR or ELR member is active, the first
 *       active replica in replica order leads with an ISR of itself. Records it lacks are lost;
 *       its log becomes the partition's history and the other replicas truncate to it by epoch.
 *   <li>Every change bumps the partition epoch; only a leader change bumps the leader epoch.
 * </ul>
 * Stateless.
 */
public final class PartitionChanges {
  private PartitionChanges() {}

  /**
   * The min.insync.replicas that apply uses for the ELR when it decides changes itself (a
   * broker's registration, a leader's ISR change) and the topic does not set it: the brokers'
   * default is not in the image, so every replica that leaves the ISR short of a full one enters
   * the ELR, and the controller's next poll clears what it need not hold.
   */
  static final int MIN_ISR_UNKNOWN = Integer.MAX_VALUE;

  /** min.insync.replicas as apply knows it: the topic's own setting, else {@link #MIN_ISR_UNKNOWN}. */
  static int minIsrInApply(TopicImage topic) {
    String v = topic.configs().get(TopicConfig.MIN_INSYNC_REPLICAS);
    try {
      return v == null ? MIN_ISR_UNKNOWN : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      return MIN_ISR_UNKNOWN; // validated at creation; never here
    }
  }

  /** Whether a broker may lead or join an ISR in {@code image}. */
  static boolean isActive(MetadataImage image, int nodeId) {
    BrokerImage b = image.brokers().get(nodeId);
    return b != null && b.isActive();
  }

  /**
   * The change that takes {@code p} to a state where its leader and ISR hold active brokers only
   * (as far as possible), or null when it is already there; no unclean election, and the ELR as
   * apply knows min.insync.replicas ({@link #minIsrInApply}).
   *
   * @param active which brokers are active once the decision is applied
   */
  static PartitionChange reconcile(TopicImage topic, PartitionImage p, IntPredicate active) {
    return reconcile(topic, p, active, false, minIsrInApply(topic));
  }

  /**
   * As {@link #reconcile(TopicImage, PartitionImage, IntPredicate)} with the topic's effective
   * {@code minInsyncReplicas}, which decides the ELR; with {@code uncleanAllowed}, a partition
   * whose ISR and ELR have no active member is led by an active out-of-sync replica.
   */
  static PartitionChange reconcile(TopicImage topic, PartitionImage p, IntPredicate active, boolean uncleanAllowed,
      int minInsyncReplicas) {
    List<Integer> activeIsr = new ArrayList<>();
    for (int r : p.isr()) if (active.test(r)) activeIsr.add(r);
    if (activeIsr.isEmpty()) {
      int eligible = firstOf(p.replicas(), r -> p.eligibleLeaderReplicas().contains(r) && active.test(r));
      if (eligible >= 0) {
        List<Integer> isr = List.of(eligible);
        return change(topic, p, eligible, isr, elrAfter(p, isr, minInsyncReplicas));
      }
      if (uncleanAllowed) {
        int unclean = firstOf(p.replicas(), active);
        if (unclean >= 0) return change(topic, p, unclean, List.of(unclean), List.of());
      }
    }
    List<Integer> isr = activeIsr.isEmpty() ? p.isr() : activeIsr;
    int leader = p.leaderId();
    if (leader < 0 || !active.test(leader) || !isr.contains(leader)) {
      leader = firstOf(p.replicas(), r -> isr.contains(r) && active.test(r));
    }
    List<Integer> elr = elrAfter(p, isr, minInsyncReplicas);
    if (leader == p.leaderId() && isr.equals(p.isr()) && elr.equals(p.eligibleLeaderReplicas())) return null;
    return change(topic, p, leader, isr, elr);
  }

  /**
   * The ELR once {@code p}'s ISR is {@code newIsr}: empty when that ISR has
   * min(minInsyncReplicas, replication factor) members; otherwise the current ELR plus the
   * members that leave the ISR, less those in it, in replica order.
   */
  static List<Integer> elrAfter(PartitionImage p, List<Integer> newIsr, int minInsyncReplicas) {
    if (newIsr.size() >= Math.min(minInsyncReplicas, p.replicas().size())) return List.of();
    List<Integer> out = new ArrayList<>();
    for (int r : p.replicas()) {
      if (!newIsr.contains(r) && (p.eligibleLeaderReplicas().contains(r) || p.isr().contains(r))) out.add(r);
    }
    return out;
  }

  /** Whether {@code c} makes a leader of a replica outside the ISR it changes (an unclean election). */
  static boolean isUnclean(PartitionImage p, PartitionChange c) {
    return c.getLeaderId() >= 0 && c.getLeaderId() != p.leaderId() && !p.isr().contains(c.getLeaderId())
        && !p.eligibleLeaderReplicas().contains(c.getLeaderId());
  }

  /** The first broker of {@code replicas}, in order, that passes {@code test}, or -1. */
  private static int firstOf(List<Integer> replicas, IntPredicate test) {
    for (int r : replicas) {
      if (test.test(r)) return r;
    }
    return -1;
  }

  /** The change that makes the preferred replica lead, or null when it cannot or already does. */
  static PartitionChange preferred(TopicImage topic, PartitionImage p, IntPredicate active) {
    int preferred = p.preferredLeader();
    if (p.leaderId() == preferred || !active.test(preferred) || !p.isr().contains(preferred)) return null;
    return change(topic, p, preferred, p.isr(), p.eligibleLeaderReplicas());
  }

  /** Why the preferred replica cannot lead {@code p} (null = it can, or already does). */
  static ErrorCode preferredProblem(PartitionImage p, IntPredicate active) {
    if (p.leaderId() == p.preferredLeader()) return ErrorCode.ELECTION_NOT_NEEDED;
    if (!active.test(p.preferredLeader()) || !p.isr().contains(p.preferredLeader())) {
      return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
    }
    return null;
  }

  static PartitionChange change(TopicImage topic, PartitionImage p, int leader, List<Integer> isr, List<Integer> elr) {
    return PartitionChange.newBuilder()
        .setTopic(topic.name()).setTopicId(topic.topicId()).setPartition(p.partition())
        .setPartitionEpoch(p.partitionEpoch()).setLeaderId(leader).addAllIsr(isr).addAllEligibleLeaderReplicas(elr)
        .build();
  }

  /**
   * Applies {@code c} to partition {@code p} of topic {@code t} if it still may: the same topic
   * incarnation and partition epoch, a valid ISR whose new members are active, a leader that
   * is in the ISR and, when it changes, active, and an ELR of replicas outside the new ISR that
   * were in the ISR or ELR before.
   *
   * @return the partition after the change, or null when the change no longer applies
   */
  static PartitionImage applyIfValid(TopicImage t, PartitionImage p, PartitionChange c, IntPredicate active) {
    if (t == null || p == null || !t.topicId().equals(c.getTopicId())) return null;
    if (p.partitionEpoch() != c.getPartitionEpoch()) return null;
    List<Integer> isr = c.getIsrList();
    if (isr.isEmpty() || new HashSet<>(isr).size() != isr.size() || !p.replicas().containsAll(isr)) return null;
    for (int r : isr) {
      if (!p.isr().contains(r) && !active.test(r)) return null;
    }
    int leader = c.getLeaderId();
    boolean leaderChanged = leader != p.leaderId();
    if (leader >= 0 && (!isr.contains(leader) || (leaderChanged && !active.test(leader)))) return null;
    List<Integer> elr = c.getEligibleLeaderReplicasList();
    if (new HashSet<>(elr).size() != elr.size()) return null;
    for (int r : elr) {
      if (isr.contains(r) || !(p.isr().contains(r) || p.eligibleLeaderReplicas().contains(r))) return null;
    }
    if (!leaderChanged && isr.equals(p.isr()) && elr.equals(p.eligibleLeaderReplicas())) return null;
    return new PartitionImage(p.partition(), leader, p.leaderEpoch() + (leaderChanged ? 1 : 0), p.replicas(), isr,
        p.partitionEpoch() + 1, elr);
  }

  /** The outcome of checking an ISR change: an error, or the change to log (null = nothing to change). */
  record AlterCheck(ErrorCode error, String message, PartitionImage current, PartitionChange change) {}

  /**
   * Checks an ISR change by a partition leader against {@code image}, in Kafka's order: broker
   * epoch, leader epoch, leadership, partition epoch, then the new ISR itself.
   */
  static AlterCheck checkAlter(MetadataImage image, AlterPartitionRequest req) {
    TopicImage t = image.topic(req.topic());
    if (t == null || req.partition() < 0 || req.partition() >= t.partitions().size()) {
      return new AlterCheck(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          "topic '" + req.topic() + "' has no partition " + req.partition(), null, null);
    }
    PartitionImage p = t.partitions().get(req.partition());
    BrokerImage leader = image.brokers().get(req.leaderId());
    if (leader == null || leader.brokerEpoch() != req.leaderBrokerEpoch()) {
      return reject(ErrorCode.STALE_BROKER_EPOCH, "broker " + req.leaderId() + " epoch " + req.leaderBrokerEpoch()
          + " is not current" + (leader == null ? " (not registered)" : " (" + leader.brokerEpoch() + ")"), p);
    }
    if (req.leaderEpoch() != p.leaderEpoch()) {
      return reject(ErrorCode.FENCED_LEADER_EPOCH, "leader epoch " + req.leaderEpoch() + " is not current ("
          + p.leaderEpoch() + ")", p);
    }
    if (req.leaderId() != p.leaderId()) {
      return reject(ErrorCode.NOT_LEADER, "broker " + req.leaderId() + " does not lead " + req.topic() + "-"
          + req.partition() + " (leader " + p.leaderId() + ")", p);
    }
    if (req.partitionEpoch() != p.partitionEpoch()) {
      return reject(ErrorCode.INVALID_UPDATE_VERSION, "partition epoch " + req.partitionEpoch() + " is not current ("
          + p.partitionEpoch() + ")", p);
    }
    List<Integer> isr = req.newIsr();
    Set<Integer> unique = new HashSet<>(isr);
    if (unique.size() != isr.size()) return reject(ErrorCode.INVALID_REQUEST, "the new ISR " + isr + " has duplicates", p);
    if (!unique.contains(req.leaderId())) {
      return checkResign(image, t, p, req, isr);
    }
    for (int r : isr) {
      if (!p.replicas().contains(r)) {
        return reject(ErrorCode.INELIGIBLE_REPLICA, "broker " + r + " is not a replica of " + req.topic() + "-"
            + req.partition(), p);
      }
      if (!p.isr().contains(r) && !isActive(image, r)) {
        BrokerImage b = image.brokers().get(r);
        String state = b == null ? "not registered" : b.fenced() ? "fenced" : "shutting down";
        return reject(ErrorCode.INELIGIBLE_REPLICA, "broker " + r + " may not join the ISR: it is " + state, p);
      }
      Long seenEpoch = req.addedBrokerEpochs().get(r);
      if (!p.isr().contains(r) && seenEpoch != null && seenEpoch != image.brokers().get(r).brokerEpoch()) {
        return reject(ErrorCode.STALE_BROKER_EPOCH, "broker " + r + " caught up under broker epoch " + seenEpoch
            + " but has epoch " + image.brokers().get(r).brokerEpoch() + " now: it restarted since", p);
      }
    }
    if (unique.equals(new HashSet<>(p.isr()))) return new AlterCheck(ErrorCode.NONE, "", p, null);
    // A member that rejoins leaves the ELR, and an ISR back at min.insync.replicas (as far as
    // apply knows it) empties it; the leader's removals do not enter it (leaving a replica out of
    // the ELR only narrows a later election).
    List<Integer> elr = new ArrayList<>(p.eligibleLeaderReplicas());
    elr.removeAll(isr);
    if (isr.size() >= Math.min(minIsrInApply(t), p.replicas().size())) elr.clear();
    return new AlterCheck(ErrorCode.NONE, "", p, change(t, p, p.leaderId(), isr, elr));
  }

  /**
   * A leader that leaves the ISR it proposes resigns: its copy of the log cannot be trusted (a
   * corrupt batch was found in it, or it was cut to repair damage), so another replica that holds
   * every committed record must lead. The new ISR may hold members of the current ISR and, since
   * the resigning leader serves nothing more and the high watermark stays where it is, members
   * of the ELR; some member must be active, and the first active one (in replica order) becomes
   * leader in a new leader epoch. The resigning leader enters neither the ISR nor the ELR.
   */
  private static AlterCheck checkResign(MetadataImage image, TopicImage t, PartitionImage p, AlterPartitionRequest req,
      List<Integer> isr) {
    boolean fromIsrOrElr = isr.stream().allMatch(r -> p.isr().contains(r) || p.eligibleLeaderReplicas().contains(r));
    if (isr.isEmpty() || !fromIsrOrElr) {
      return reject(ErrorCode.INVALID_REQUEST, "a leader that leaves the ISR may only hand over to members of the ISR "
          + p.isr() + " or the ELR " + p.eligibleLeaderReplicas() + ": " + isr + " is not a non-empty set of them", p);
    }
    int successor = firstOf(p.replicas(), r -> isr.contains(r) && isActive(image, r));
    if (successor < 0) {
      return reject(ErrorCode.INELIGIBLE_REPLICA, "no active member of " + isr + " can take over "
          + req.topic() + "-" + req.partition() + " from broker " + req.leaderId(), p);
    }
    List<Integer> elr = new ArrayList<>(p.eligibleLeaderReplicas());
    elr.removeAll(isr);
    return new AlterCheck(ErrorCode.NONE, "", p, change(t, p, successor, isr, elr));
  }

  private static AlterCheck reject(ErrorCode code, String message, PartitionImage current) {
    return new AlterCheck(code, message, current, null);
  }
}
