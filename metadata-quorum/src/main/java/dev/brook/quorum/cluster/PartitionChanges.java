package dev.brook.quorum.cluster;

import dev.brook.proto.v1.ErrorCode;
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
 * <p>Rules (Kafka's KRaft controller, KIP-841/KIP-903/KAFKA-15021):
 * <ul>
 *   <li>Only active brokers (registered, unfenced, not shutting down) may lead or join an ISR.
 *   <li>A new leader comes from the ISR, in replica order; none available means leader -1.
 *   <li>Inactive brokers leave every ISR, except that an ISR never becomes empty: when no member
 *       is active it stays as it is, because its members hold every acknowledged record.
 *   <li>Unclean election (only when the topic's {@code unclean.leader.election.enable} is true, and
 *       only decided by the active controller): when no ISR member is active, the first active
 *       replica in replica order leads with an ISR of itself. Records it lacks are lost; its log
 *       becomes the partition's history and the other replicas truncate to it by epoch.
 *   <li>Every change bumps the partition epoch; only a leader change bumps the leader epoch.
 * </ul>
 * Stateless.
 */
public final class PartitionChanges {
  private PartitionChanges() {}

  /** Whether a broker may lead or join an ISR in {@code image}. */
  static boolean isActive(MetadataImage image, int nodeId) {
    BrokerImage b = image.brokers().get(nodeId);
    return b != null && b.isActive();
  }

  /**
   * The change that takes {@code p} to a state where its leader and ISR hold active brokers only
   * (as far as possible), or null when it is already there.
   *
   * @param active which brokers are active once the decision is applied
   */
  static PartitionChange reconcile(TopicImage topic, PartitionImage p, IntPredicate active) {
    return reconcile(topic, p, active, false);
  }

  /**
   * As {@link #reconcile(TopicImage, PartitionImage, IntPredicate)}; with {@code uncleanAllowed},
   * a partition whose ISR has no active member is led by an active out-of-sync replica.
   */
  static PartitionChange reconcile(TopicImage topic, PartitionImage p, IntPredicate active, boolean uncleanAllowed) {
    List<Integer> activeIsr = new ArrayList<>();
    for (int r : p.isr()) if (active.test(r)) activeIsr.add(r);
    if (activeIsr.isEmpty() && uncleanAllowed) {
      int unclean = firstOf(p.replicas(), active);
      if (unclean >= 0) return change(topic, p, unclean, List.of(unclean));
    }
    List<Integer> isr = activeIsr.isEmpty() ? p.isr() : activeIsr;
    int leader = p.leaderId();
    if (leader < 0 || !active.test(leader) || !isr.contains(leader)) {
      leader = firstOf(p.replicas(), r -> isr.contains(r) && active.test(r));
    }
    if (leader == p.leaderId() && isr.equals(p.isr())) return null;
    return change(topic, p, leader, isr);
  }

  /** Whether {@code c} makes a leader of a replica outside the ISR it changes (an unclean election). */
  static boolean isUnclean(PartitionImage p, PartitionChange c) {
    return c.getLeaderId() >= 0 && c.getLeaderId() != p.leaderId() && !p.isr().contains(c.getLeaderId());
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
    return change(topic, p, preferred, p.isr());
  }

  /** Why the preferred replica cannot lead {@code p} (null = it can, or already does). */
  static ErrorCode preferredProblem(PartitionImage p, IntPredicate active) {
    if (p.leaderId() == p.preferredLeader()) return ErrorCode.ELECTION_NOT_NEEDED;
    if (!active.test(p.preferredLeader()) || !p.isr().contains(p.preferredLeader())) {
      return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
    }
    return null;
  }

  static PartitionChange change(TopicImage topic, PartitionImage p, int leader, List<Integer> isr) {
    return PartitionChange.newBuilder()
        .setTopic(topic.name()).setTopicId(topic.topicId()).setPartition(p.partition())
        .setPartitionEpoch(p.partitionEpoch()).setLeaderId(leader).addAllIsr(isr)
        .build();
  }

  /**
   * Applies {@code c} to partition {@code p} of topic {@code t} if it still may: the same topic
   * incarnation and partition epoch, a valid ISR whose new members are active, and a leader that
   * is in the ISR and, when it changes, active.
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
    if (!leaderChanged && isr.equals(p.isr())) return null;
    return new PartitionImage(p.partition(), leader, p.leaderEpoch() + (leaderChanged ? 1 : 0), p.replicas(), isr,
        p.partitionEpoch() + 1);
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
    return new AlterCheck(ErrorCode.NONE, "", p, change(t, p, p.leaderId(), isr));
  }

  /**
   * A leader that leaves the ISR it proposes resigns: its copy of the log cannot be trusted (a
   * corrupt batch was found in it), so another in-sync replica must lead. Only removals are
   * allowed in the same change, and some remaining member must be active; that member (the first
   * in replica order) becomes leader in a new leader epoch.
   */
  private static AlterCheck checkResign(MetadataImage image, TopicImage t, PartitionImage p, AlterPartitionRequest req,
      List<Integer> isr) {
    if (isr.isEmpty() || !p.isr().containsAll(isr)) {
      return reject(ErrorCode.INVALID_REQUEST, "a leader that leaves the ISR may only remove members: " + isr
          + " is not a non-empty subset of " + p.isr(), p);
    }
    int successor = firstOf(p.replicas(), r -> isr.contains(r) && isActive(image, r));
    if (successor < 0) {
      return reject(ErrorCode.INELIGIBLE_REPLICA, "no active member of " + isr + " can take over "
          + req.topic() + "-" + req.partition() + " from broker " + req.leaderId(), p);
    }
    return new AlterCheck(ErrorCode.NONE, "", p, change(t, p, successor, isr));
  }

  private static AlterCheck reject(ErrorCode code, String message, PartitionImage current) {
    return new AlterCheck(code, message, current, null);
  }
}
