package dev.brook.broker.group;

import dev.brook.broker.group.GroupChange.GroupEpochBumped;
import dev.brook.broker.group.GroupChange.MemberRemoved;
import dev.brook.broker.group.GroupChange.MemberUpdated;
import dev.brook.broker.group.GroupChange.TargetAssigned;
import dev.brook.broker.group.GroupMember.State;
import dev.brook.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One consumer group on its coordinator: membership, epochs and incremental assignment as in
 * Kafka 4's consumer protocol (KIP-848). Pure logic: time is passed in, nothing is written here;
 * each call returns the {@link GroupChange}s to make durable (already replayed into this object)
 * and the other members whose assignment changed (to push to).
 *
 * <p>Epochs. The <em>group epoch</em> moves on whenever the members, their subscriptions or the
 * subscribed topics' partition counts change; the <em>target assignment</em> is computed by the
 * assignor for one group epoch (the <em>assignment epoch</em>). Each member converges to its
 * target on its own: it first gives up the partitions it must ({@link State#UNREVOKED_PARTITIONS},
 * its epoch unchanged), then takes the target partitions nobody else owns any more and moves to
 * the assignment epoch ({@link State#UNRELEASED_PARTITIONS} while some are still owned by others).
 *
 * <p>Invariants, checked on every {@link #replay}: a partition is owned (assigned, or pending
 * revocation) by at most one member; a member's epoch never exceeds the group epoch. A heartbeat
 * ahead of the member's epoch, or behind it while claiming partitions the member may not hold, is
 * fenced; a commit needs the current epoch (an older one is stale) and ownership, so a zombie can
 * neither commit nor take partitions. A heartbeat behind the member's epoch from a member that
 * claims no more than it may hold is the member lagging (the coordinator moves members on when
 * others join or release, and pushes only "heartbeat now"): it is answered with the current
 * epoch and assignment, and confirms no revocation.
 *
 * <p>Not thread-safe: the coordinator serializes calls per group.
 */
public final class ConsumerGroup {
  /** Member epoch of a heartbeat that joins. */
  public static final int JOIN_EPOCH = 0;
  /** Member epoch of a heartbeat that leaves the group for good. */
  public static final int LEAVE_EPOCH = -1;
  /** Member epoch of a static member's heartbeat that leaves for now, keeping its assignment for its session. */
  public static final int STATIC_LEAVE_EPOCH = -2;
  /** Longest member id accepted (client-chosen, a UUID in practice). */
  static final int MAX_MEMBER_ID_LENGTH = 64;

  /** What a member says in one heartbeat; null fields are unchanged since its previous one. */
  public record Heartbeat(String memberId, int memberEpoch, String instanceId, String clientId, String clientHost,
      Set<String> subscribedTopics, String assignor, int rebalanceTimeoutMs, Set<TopicPartition> owned) {}

  /**
   * The outcome of a call.
   *
   * @param error NONE, or why the heartbeat was refused (nothing then changed)
   * @param member the heartbeating member's record afterwards; null on an error or a leave
   * @param changes what to make durable, in order (already replayed here)
   * @param touched other members whose record changed (their new assignment is to be pushed)
   */
  public record Outcome(ErrorCode error, String message, GroupMember member, List<GroupChange> changes, Set<String> touched) {
    static Outcome refused(ErrorCode error, String message) {
      return new Outcome(error, message, null, List.of(), Set.of());
    }
  }

  private final String groupId;
  private final long sessionTimeoutMs;
  private int groupEpoch;
  private SortedMap<String, Integer> partitionsSeen = new TreeMap<>();
  private int assignmentEpoch;
  private SortedMap<String, Set<TopicPartition>> target = new TreeMap<>();
  private final SortedMap<String, GroupMember> members = new TreeMap<>();
  private final Map<TopicPartition, String> owners = new HashMap<>();
  // Live state, never durable: rebuilt (everyone gets a whole session) by the next coordinator.
  private final Map<String, Long> lastHeardMs = new HashMap<>();
  private final Map<String, Long> revokingSinceMs = new HashMap<>();

  public ConsumerGroup(String groupId, long sessionTimeoutMs) {
    this.groupId = groupId;
    this.sessionTimeoutMs = sessionTimeoutMs;
  }

  /**
   * The group as a new coordinator takes it over: its durable changes replayed in order, and every
   * member given a whole session (and rebalance timeout) from {@code nowMs}.
   */
  public static ConsumerGroup load(String groupId, long sessionTimeoutMs, List<GroupChange> history, long nowMs) {
    ConsumerGroup g = new ConsumerGroup(groupId, sessionTimeoutMs);
    history.forEach(g::replay);
    g.members.values().forEach(m -> {
      g.lastHeardMs.put(m.memberId(), nowMs);
      if (m.state() == State.UNREVOKED_PARTITIONS) g.revokingSinceMs.put(m.memberId(), nowMs);
    });
    return g;
  }

  public String groupId() {
    return groupId;
  }

  public int groupEpoch() {
    return groupEpoch;
  }

  public int assignmentEpoch() {
    return assignmentEpoch;
  }

  public SortedMap<String, GroupMember> members() {
    return Collections.unmodifiableSortedMap(members);
  }

  /** The target assignment of the assignment epoch: member id to partitions. */
  public SortedMap<String, Set<TopicPartition>> targetAssignment() {
    return Collections.unmodifiableSortedMap(target);
  }

  /**
   * The group's durable state as the shortest list of changes that rebuilds it: its epoch, its
   * target assignment, and one record per member. What the store keeps instead of the whole
   * history (as Kafka's compacted offsets topic keeps the latest record per key).
   */
  public List<GroupChange> asChanges() {
    List<GroupChange> out = new ArrayList<>();
    out.add(new GroupEpochBumped(groupEpoch, partitionsSeen));
    out.add(new TargetAssigned(assignmentEpoch, target));
    members.values().forEach(m -> out.add(new MemberUpdated(m)));
    return out;
  }

  /** Kafka's group states: EMPTY, ASSIGNING (target behind the group epoch), RECONCILING, STABLE. */
  public String state() {
    if (members.isEmpty()) return "EMPTY";
    if (assignmentEpoch < groupEpoch) return "ASSIGNING";
    boolean stable = members.values().stream().allMatch(m -> m.state() == State.STABLE && m.memberEpoch() == assignmentEpoch);
    return stable ? "STABLE" : "RECONCILING";
  }

  /**
   * A member's heartbeat: joins (epoch 0), leaves (-1, or -2 for a static member that returns
   * within its session), subscription changes and the partitions it reports owning.
   *
   * @param topics partition count of every existing topic (at least the subscribed ones)
   */
  public Outcome heartbeat(Heartbeat h, long nowMs, Map<String, Integer> topics, Assignors assignors) {
    if (h.memberId() == null || h.memberId().isEmpty() || h.memberId().length() > MAX_MEMBER_ID_LENGTH) {
      return Outcome.refused(ErrorCode.INVALID_REQUEST, "member id must be 1 to " + MAX_MEMBER_ID_LENGTH + " characters");
    }
    if (h.assignor() != null && !h.assignor().isEmpty() && assignors.get(h.assignor()) == null) {
      return Outcome.refused(ErrorCode.UNSUPPORTED_ASSIGNOR, "no server-side assignor '" + h.assignor() + "'; this broker has "
          + assignors.names());
    }
    List<GroupChange> changes = new ArrayList<>();
    GroupMember m = members.get(h.memberId());
    boolean membershipChanged = false;
    if (h.memberEpoch() == LEAVE_EPOCH || h.memberEpoch() == STATIC_LEAVE_EPOCH) {
      if (m == null) return new Outcome(ErrorCode.NONE, "", null, List.of(), Set.of()); // already gone
      if (h.memberEpoch() == STATIC_LEAVE_EPOCH && m.instanceId() != null) {
        // It keeps its partitions until its session ends (no more heartbeats) or it returns.
        return new Outcome(ErrorCode.NONE, "", null, List.of(), Set.of());
      }
      emit(new MemberRemoved(m.memberId()), changes);
      return settle(null, null, nowMs, topics, assignors, changes, true);
    }
    if (h.memberEpoch() == JOIN_EPOCH) {
      if (h.subscribedTopics() == null) return Outcome.refused(ErrorCode.INVALID_REQUEST, "a join must name its subscribed topics");
      if (h.rebalanceTimeoutMs() <= 0) return Outcome.refused(ErrorCode.INVALID_REQUEST, "rebalance timeout must be > 0 ms");
      if (m == null) {
        GroupMember previous = h.instanceId() == null ? null : byInstanceId(h.instanceId());
        if (previous != null) {
          // A static member's new incarnation takes over the old one's record, epoch and partitions: no rebalance.
          m = previous.replacedBy(h.memberId(), nz(h.clientId()), nz(h.clientHost()), h.rebalanceTimeoutMs());
          emit(new MemberRemoved(previous.memberId()), changes);
          emit(new MemberUpdated(m), changes);
          if (target.containsKey(previous.memberId())) {
            SortedMap<String, Set<TopicPartition>> renamed = new TreeMap<>(target);
            renamed.put(m.memberId(), renamed.remove(previous.memberId()));
            emit(new TargetAssigned(assignmentEpoch, renamed), changes);
          }
        } else {
          m = GroupMember.joined(h.memberId(), h.instanceId(), nz(h.clientId()), nz(h.clientHost()),
              new TreeSet<>(h.subscribedTopics()), emptyToNull(h.assignor()), h.rebalanceTimeoutMs());
          emit(new MemberUpdated(m), changes);
          membershipChanged = true;
        }
      }
    } else {
      if (m == null) return Outcome.refused(ErrorCode.UNKNOWN_MEMBER_ID, "member " + h.memberId() + " is not in group " + groupId);
      if (h.memberEpoch() > m.memberEpoch() || (h.memberEpoch() < m.memberEpoch() && !ownsNoMoreThanAllowed(h, m))) {
        return Outcome.refused(ErrorCode.FENCED_MEMBER_EPOCH, "member " + h.memberId() + " sent epoch " + h.memberEpoch()
            + " but is at epoch " + m.memberEpoch() + " in group " + groupId + ": give up every partition and join again");
      }
    }
    // A member behind its epoch has not seen its latest assignment: what it says it owns may
    // predate partitions given to it since, so it confirms no revocation (its answer brings it up
    // to date, and its next heartbeat at the current epoch does).
    Set<TopicPartition> ownedNow = h.memberEpoch() > JOIN_EPOCH && h.memberEpoch() < m.memberEpoch() ? null : h.owned();
    lastHeardMs.put(m.memberId(), nowMs);
    SortedSet<String> topicsNow = h.subscribedTopics() == null ? m.subscribedTopics() : new TreeSet<>(h.subscribedTopics());
    String assignorNow = h.assignor() == null ? m.assignor() : emptyToNull(h.assignor());
    if (!topicsNow.equals(m.subscribedTopics()) || !java.util.Objects.equals(assignorNow, m.assignor())) {
      m = m.withSubscription(topicsNow, assignorNow);
      emit(new MemberUpdated(m), changes);
      membershipChanged = true;
    }
    return settle(m.memberId(), ownedNow, nowMs, topics, assignors, changes, membershipChanged);
  }

  /**
   * Removes the members whose session ended (no heartbeat for the session timeout, a static
   * member that left included) or that did not revoke within their rebalance timeout.
   */
  public Outcome expire(long nowMs, Map<String, Integer> topics, Assignors assignors) {
    List<GroupChange> changes = new ArrayList<>();
    for (GroupMember m : new ArrayList<>(members.values())) {
      if (expired(m, nowMs)) emit(new MemberRemoved(m.memberId()), changes);
    }
    if (changes.isEmpty()) return new Outcome(ErrorCode.NONE, "", null, List.of(), Set.of());
    return settle(null, null, nowMs, topics, assignors, changes, true);
  }

  /** The earliest time at which {@link #expire} may remove someone, or Long.MAX_VALUE. */
  public long nextDeadlineMs() {
    long next = Long.MAX_VALUE;
    for (GroupMember m : members.values()) {
      next = Math.min(next, lastHeardMs.getOrDefault(m.memberId(), 0L) + sessionTimeoutMs + 1);
      Long since = revokingSinceMs.get(m.memberId());
      if (since != null) next = Math.min(next, since + m.rebalanceTimeoutMs() + 1);
    }
    return next;
  }

  private boolean expired(GroupMember m, long nowMs) {
    if (nowMs - lastHeardMs.getOrDefault(m.memberId(), nowMs) > sessionTimeoutMs) return true;
    Long since = revokingSinceMs.get(m.memberId());
    return since != null && nowMs - since > m.rebalanceTimeoutMs();
  }

  /**
   * Whether an offset commit by {@code memberId} at {@code memberEpoch} for {@code partitions}
   * may be stored: NONE, or the error for the whole commit. A commit without a member (empty id,
   * negative epoch: a consumer that assigns partitions itself, or an offset reset) is allowed
   * only while the group has no members.
   */
  public ErrorCode checkCommit(String memberId, int memberEpoch, Collection<TopicPartition> partitions) {
    if ((memberId == null || memberId.isEmpty()) && memberEpoch < 0) {
      return members.isEmpty() ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    GroupMember m = members.get(memberId);
    if (m == null) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch < m.memberEpoch()) return ErrorCode.STALE_MEMBER_EPOCH;
    if (memberEpoch > m.memberEpoch()) return ErrorCode.FENCED_MEMBER_EPOCH;
    for (TopicPartition tp : partitions) {
      if (!m.owns(tp)) return ErrorCode.PARTITION_NOT_OWNED;
    }
    return ErrorCode.NONE;
  }

  /** Applies one durable change; the only way this object's durable state changes. */
  public void replay(GroupChange change) {
    if (change instanceof MemberUpdated u) {
      GroupMember m = u.member();
      if (m.memberEpoch() > groupEpoch) {
        throw new IllegalStateException(groupId + ": member " + m.memberId() + " at epoch " + m.memberEpoch()
            + " is ahead of the group epoch " + groupEpoch);
      }
      GroupMember old = members.get(m.memberId());
      for (TopicPartition tp : owned(m)) {
        String owner = owners.get(tp);
        if (owner != null && !owner.equals(m.memberId())) {
          throw new IllegalStateException(groupId + ": " + tp + " would be owned by both " + owner + " and " + m.memberId());
        }
      }
      if (old != null) owned(old).forEach(owners::remove);
      owned(m).forEach(tp -> owners.put(tp, m.memberId()));
      members.put(m.memberId(), m);
    } else if (change instanceof MemberRemoved r) {
      GroupMember old = members.remove(r.memberId());
      if (old != null) owned(old).forEach(owners::remove);
      lastHeardMs.remove(r.memberId());
      revokingSinceMs.remove(r.memberId());
    } else if (change instanceof GroupEpochBumped b) {
      groupEpoch = b.epoch();
      partitionsSeen = new TreeMap<>(b.partitions());
    } else if (change instanceof TargetAssigned t) {
      assignmentEpoch = t.epoch();
      target = new TreeMap<>(t.target());
    }
  }

  /**
   * After a membership step: a new group epoch if anything it depends on changed, a new target
   * assignment if the target is behind it, then every member moved as far towards its target as
   * it can (to a fixed point: one member's release lets another take the partition).
   */
  private Outcome settle(String memberId, Set<TopicPartition> owned, long nowMs, Map<String, Integer> topics,
      Assignors assignors, List<GroupChange> changes, boolean membershipChanged) {
    SortedMap<String, Integer> seen = subscribedPartitionCounts(topics);
    if (membershipChanged || !seen.equals(partitionsSeen)) emit(new GroupEpochBumped(groupEpoch + 1, seen), changes);
    if (assignmentEpoch < groupEpoch) emit(new TargetAssigned(groupEpoch, computeTarget(seen, assignors)), changes);
    Set<String> touched = new LinkedHashSet<>();
    boolean progress = true;
    while (progress) {
      progress = false;
      for (GroupMember m : new ArrayList<>(members.values())) {
        GroupMember next = reconcile(m, m.memberId().equals(memberId) ? owned : null);
        if (next == null) continue;
        emit(new MemberUpdated(next), changes);
        if (next.state() == State.UNREVOKED_PARTITIONS) {
          if (next.pendingRevocation().containsAll(m.pendingRevocation())) {
            revokingSinceMs.putIfAbsent(next.memberId(), nowMs); // still releasing what it was asked for
          } else {
            // It released everything it was asked for and is asked for more: the rebalance timeout
            // runs from this request, or a member that keeps up with a busy group is timed out.
            revokingSinceMs.put(next.memberId(), nowMs);
          }
        } else {
          revokingSinceMs.remove(next.memberId());
        }
        if (!next.memberId().equals(memberId)) touched.add(next.memberId());
        progress = true;
      }
    }
    GroupMember self = memberId == null ? null : members.get(memberId);
    return new Outcome(ErrorCode.NONE, "", self, List.copyOf(changes), Collections.unmodifiableSet(touched));
  }

  /** {@code m} one step closer to its target, or null when it cannot move now. */
  private GroupMember reconcile(GroupMember m, Set<TopicPartition> owned) {
    SortedSet<TopicPartition> assigned = new TreeSet<>(m.assigned());
    SortedSet<TopicPartition> pending = new TreeSet<>(m.pendingRevocation());
    if (!pending.isEmpty()) {
      // Still owned until the member says it gave them up.
      if (owned == null || pending.stream().anyMatch(owned::contains)) return null;
      pending.clear();
    }
    Set<TopicPartition> goal = target.getOrDefault(m.memberId(), Set.of());
    SortedSet<TopicPartition> revoke = new TreeSet<>(assigned);
    revoke.removeAll(goal);
    GroupMember next;
    if (!revoke.isEmpty()) {
      assigned.removeAll(revoke);
      next = m.withAssignment(m.memberEpoch(), m.previousMemberEpoch(), State.UNREVOKED_PARTITIONS, assigned, revoke);
    } else {
      for (TopicPartition tp : goal) {
        String owner = owners.get(tp);
        if (owner == null || owner.equals(m.memberId())) assigned.add(tp);
      }
      int previous = m.memberEpoch() != assignmentEpoch ? m.memberEpoch() : m.previousMemberEpoch();
      State state = assigned.equals(goal) ? State.STABLE : State.UNRELEASED_PARTITIONS;
      next = m.withAssignment(assignmentEpoch, previous, state, assigned, pending);
    }
    return next.equals(m) ? null : next;
  }

  private SortedMap<String, Set<TopicPartition>> computeTarget(SortedMap<String, Integer> partitions, Assignors assignors) {
    SortedMap<String, PartitionAssignor.Member> input = new TreeMap<>();
    members.forEach((id, m) -> input.put(id, new PartitionAssignor.Member(m.subscribedTopics(), target.getOrDefault(id, Set.of()))));
    PartitionAssignor.Input in = new PartitionAssignor.Input(input, partitions);
    PartitionAssignor chosen = assignors.forGroup(members.values());
    Map<String, Set<TopicPartition>> result;
    try {
      result = chosen.assign(in);
    } catch (RuntimeException e) {
      result = null;
    }
    if (Assignments.check(in, result) != null) {
      // A pluggable assignor broke its contract: the group must still get a valid assignment.
      result = assignors.fallback().assign(in);
    }
    return new TreeMap<>(result);
  }

  private SortedMap<String, Integer> subscribedPartitionCounts(Map<String, Integer> topics) {
    SortedMap<String, Integer> out = new TreeMap<>();
    for (GroupMember m : members.values()) {
      for (String t : m.subscribedTopics()) {
        Integer n = topics.get(t);
        if (n != null) out.put(t, n);
      }
    }
    return out;
  }

  /**
   * Whether a heartbeat behind the member's epoch is the member itself lagging, not a zombie: it
   * claims no partition the member may not hold now (assigned or pending revocation). A member is
   * behind when the coordinator moved it on while answering others (their joins and releases
   * reassign it, and it only learns its epoch from the answer to its own next heartbeat, after the
   * push), or when an answer was lost. The member id is the member's own (a removed member is
   * unknown, a static member's new incarnation has a new id), so nothing else can send it.
   */
  private static boolean ownsNoMoreThanAllowed(Heartbeat h, GroupMember m) {
    return h.owned() == null || h.owned().stream().allMatch(m::owns);
  }

  private GroupMember byInstanceId(String instanceId) {
    for (GroupMember m : members.values()) {
      if (instanceId.equals(m.instanceId())) return m;
    }
    return null;
  }

  private void emit(GroupChange c, List<GroupChange> out) {
    replay(c);
    out.add(c);
  }

  private static Set<TopicPartition> owned(GroupMember m) {
    Set<TopicPartition> out = new HashSet<>(m.assigned());
    out.addAll(m.pendingRevocation());
    return out;
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
