package dev.brook.broker.group;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.broker.group.ConsumerGroup.Heartbeat;
import dev.brook.broker.group.ConsumerGroup.Outcome;
import dev.brook.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ConsumerGroupTest {
  private static final long SESSION_MS = 10_000;
  private static final int REBALANCE_MS = 30_000;

  private final Assignors assignors = Assignors.builtIn();
  private final Map<String, Integer> topics = new HashMap<>(Map.of("t", 6));
  private final ConsumerGroup group = new ConsumerGroup("g", SESSION_MS);
  private final List<GroupChange> log = new ArrayList<>();
  private long now = 1_000;

  /**
   * A well-behaved client: it consumes what its last answer gave it (assigned and pending
   * revocation), and on its next heartbeat it first gives up what is pending, then reports what
   * it still owns.
   */
  private final class Client {
    final String id;
    final String instanceId;
    int epoch = ConsumerGroup.JOIN_EPOCH;
    Set<TopicPartition> consuming = new TreeSet<>();
    Set<TopicPartition> pending = new TreeSet<>();
    /** Pushes received: the coordinator moved this member on without telling it its epoch. */
    int pushes;

    Client(String id, String instanceId) {
      this.id = id;
      this.instanceId = instanceId;
    }

    Outcome heartbeat() {
      consuming.removeAll(pending); // revoked: committed and released before saying so
      pending.clear();
      Outcome o = send(new Heartbeat(id, epoch, instanceId, "client-" + id, "/127.0.0.1",
          epoch == ConsumerGroup.JOIN_EPOCH ? Set.of("t") : null, null, REBALANCE_MS, Set.copyOf(consuming)));
      if (o.error() == ErrorCode.NONE && o.member() != null) {
        take(o.member());
      } else if (o.error() == ErrorCode.FENCED_MEMBER_EPOCH || o.error() == ErrorCode.UNKNOWN_MEMBER_ID) {
        // As group.proto asks: release everything without committing, join again.
        consuming.clear();
        pending.clear();
        epoch = ConsumerGroup.JOIN_EPOCH;
      }
      return o;
    }

    /** The record in the answer to its heartbeat. */
    void take(GroupMember m) {
      epoch = m.memberEpoch();
      consuming = new TreeSet<>(m.assigned());
      consuming.addAll(m.pendingRevocation());
      pending = new TreeSet<>(m.pendingRevocation());
    }
  }

  private final Map<String, Client> clients = new TreeMap<>();

  private Outcome send(Heartbeat h) {
    Outcome o = group.heartbeat(h, now, topics, assignors);
    record(o);
    return o;
  }

  private void record(Outcome o) {
    log.addAll(o.changes());
    // The coordinator pushes "heartbeat now" to the members they concern (a push carries no
    // epoch and no assignment): they learn their new records only from their next answer.
    for (String id : o.touched()) {
      Client c = clients.get(id);
      if (c != null) c.pushes++;
    }
    assertNoPartitionConsumedTwice();
  }

  private Client join(String id) {
    return join(id, null);
  }

  private Client join(String id, String instanceId) {
    Client c = new Client(id, instanceId);
    clients.put(id, c);
    assertThat(c.heartbeat().error()).isEqualTo(ErrorCode.NONE);
    return c;
  }

  /** Every client heartbeats until nothing changes any more. */
  private void converge() {
    for (int round = 0; round < 20; round++) {
      boolean changed = false;
      for (Client c : new ArrayList<>(clients.values())) changed |= !c.heartbeat().changes().isEmpty();
      if (!changed && group.state().equals("STABLE")) return;
    }
    throw new AssertionError("no convergence: " + group.members());
  }

  private void assertNoPartitionConsumedTwice() {
    Map<TopicPartition, String> seen = new HashMap<>();
    for (Client c : clients.values()) {
      for (TopicPartition tp : c.consuming) {
        String other = seen.put(tp, c.id);
        assertThat(other).as(tp + " consumed by " + other + " and " + c.id).isNull();
      }
    }
  }

  private static Set<TopicPartition> parts(String topic, int... ps) {
    Set<TopicPartition> out = new TreeSet<>();
    for (int p : ps) out.add(new TopicPartition(topic, p));
    return out;
  }

  @Test
  void threeMembersOnSixPartitionsGetTwoEach() {
    join("a");
    join("b");
    join("c");
    converge();
    assertThat(clients.values()).allSatisfy(c -> assertThat(c.consuming).hasSize(2));
    assertThat(group.state()).isEqualTo("STABLE");
    assertThat(group.members().values()).allSatisfy(m -> assertThat(m.memberEpoch()).isEqualTo(group.groupEpoch()));
  }

  @Test
  void aJoiningMemberGetsPartitionsOnlyAfterTheirOwnerReleasedThem() {
    topics.put("t", 12);
    Client a = join("a");
    join("b");
    join("c");
    converge();
    Map<String, Set<TopicPartition>> before = new HashMap<>();
    clients.forEach((id, c) -> before.put(id, Set.copyOf(c.consuming)));

    Client d = join("d");
    // The newcomer's partitions are still owned: it gets nothing yet, the others are asked to revoke.
    assertThat(d.consuming).isEmpty();
    assertThat(group.members().get("a").state()).isEqualTo(GroupMember.State.UNREVOKED_PARTITIONS);
    assertThat(a.pushes).isPositive();
    a.heartbeat(); // the push makes it heartbeat at once; the answer asks it to give one up
    assertThat(a.pending).hasSize(1);
    // Existing members go on consuming what they keep, and only lose what they were asked to.
    a.heartbeat();
    assertThat(a.consuming).hasSize(3).isSubsetOf(before.get("a"));
    converge();
    assertThat(d.consuming).hasSize(3);
    for (String id : List.of("a", "b", "c")) assertThat(before.get(id)).containsAll(clients.get(id).consuming);
  }

  @Test
  void aMemberSilentForItsSessionIsRemovedAndItsPartitionsMove() {
    join("a");
    Client b = join("b");
    converge();
    now += SESSION_MS;
    clients.get("a").heartbeat();
    assertThat(group.expire(now, topics, assignors).changes()).isEmpty(); // b's session is not over yet
    assertThat(group.nextDeadlineMs()).isEqualTo(now - SESSION_MS + SESSION_MS + 1);
    now += 1;
    clients.remove("b"); // it crashed; its consumption stopped with it
    record(group.expire(now, topics, assignors));
    assertThat(group.members()).containsOnlyKeys("a");
    converge();
    assertThat(clients.get("a").consuming).hasSize(6);
    // The removed member is fenced: its heartbeats and commits are refused.
    assertThat(group.heartbeat(new Heartbeat("b", b.epoch, null, "", "", null, null, REBALANCE_MS, Set.of()), now, topics,
        assignors).error()).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID);
    assertThat(group.checkCommit("b", b.epoch, parts("t", 0))).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID);
  }

  @Test
  void aMemberThatDoesNotRevokeWithinItsRebalanceTimeoutIsRemoved() {
    Client a = join("a");
    converge();
    Client b = join("b");
    a.heartbeat(); // pushed to: its answer asks it to give some up
    assertThat(a.pending).isNotEmpty();
    // a is stuck in processing: it heartbeats from another thread but never releases.
    for (int i = 0; i < 4; i++) {
      now += REBALANCE_MS / 4;
      send(new Heartbeat("a", a.epoch, null, null, null, null, null, REBALANCE_MS, Set.copyOf(a.consuming)));
      b.heartbeat();
      assertThat(b.consuming).isEmpty(); // nothing a still owns
    }
    now += 1;
    Outcome o = group.expire(now, topics, assignors);
    assertThat(o.changes()).contains(new GroupChange.MemberRemoved("a"));
    clients.remove("a");
    record(o);
    converge();
    assertThat(clients.get("b").consuming).hasSize(6);
  }

  @Test
  void theRebalanceTimeoutRunsFromEachRequestToRelease() {
    Client a = join("a");
    converge();
    Client b = join("b"); // a is asked to release three
    now += 10;
    Client c = join("c"); // once a has, it must release one more
    now += REBALANCE_MS - 20;
    a.heartbeat(); // the answer says which three
    a.heartbeat(); // released them; asked for one more now
    assertThat(group.members().get("a").state()).isEqualTo(GroupMember.State.UNREVOKED_PARTITIONS);
    now += 30; // past the first request's timeout, well within the second's
    b.heartbeat();
    c.heartbeat();
    assertThat(group.expire(now, topics, assignors).changes()).isEmpty();
    converge();
    assertThat(clients.values()).allSatisfy(x -> assertThat(x.consuming).hasSize(2));
  }

  @Test
  void staleEpochsAreFencedAndCommitsNeedTheCurrentEpochAndOwnership() {
    Client a = join("a");
    converge();
    int epoch = a.epoch;
    assertThat(group.heartbeat(new Heartbeat("a", epoch + 5, null, null, null, null, null, REBALANCE_MS, Set.of()), now,
        topics, assignors).error()).isEqualTo(ErrorCode.FENCED_MEMBER_EPOCH);
    assertThat(group.checkCommit("a", epoch, parts("t", 0, 5))).isEqualTo(ErrorCode.NONE);
    join("b");
    converge();
    assertThat(a.epoch).isGreaterThan(epoch);
    assertThat(group.checkCommit("a", epoch, a.consuming)).isEqualTo(ErrorCode.STALE_MEMBER_EPOCH);
    TopicPartition notMine = clients.get("b").consuming.iterator().next();
    assertThat(group.checkCommit("a", a.epoch, Set.of(notMine))).isEqualTo(ErrorCode.PARTITION_NOT_OWNED);
    assertThat(group.checkCommit("", -1, Set.of(notMine))).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID); // group has members
    assertThat(new ConsumerGroup("empty", SESSION_MS).checkCommit("", -1, Set.of(notMine))).isEqualTo(ErrorCode.NONE);
    // A zombie at an old epoch that claims partitions it no longer owns is fenced.
    assertThat(group.heartbeat(new Heartbeat("a", epoch, null, null, null, null, null, REBALANCE_MS, parts("t", 0, 1, 2, 3, 4, 5)),
        now, topics, assignors).error()).isEqualTo(ErrorCode.FENCED_MEMBER_EPOCH);
  }

  @Test
  void aHeartbeatWhoseAnswerWasLostIsAcceptedAtThePreviousEpoch() {
    Client a = join("a");
    converge();
    join("b");
    converge();
    GroupMember m = group.members().get("a");
    // a never saw the answer that moved it on: it still says its previous epoch, owning only what it may.
    Outcome o = send(new Heartbeat("a", m.previousMemberEpoch(), null, null, null, null, null, REBALANCE_MS,
        Set.copyOf(m.assigned())));
    assertThat(o.error()).isEqualTo(ErrorCode.NONE);
    assertThat(o.member().memberEpoch()).isEqualTo(m.memberEpoch());
    a.take(o.member());
  }

  @Test
  void aMemberMovedOnByOthersJoiningIsAnsweredAtItsCurrentEpochNotFenced() {
    join("a");
    converge();
    Client b = join("b"); // waits for partitions a still owns
    int known = b.epoch;
    // Two more join before b heartbeats again: each moves b to a new epoch it is only pushed about.
    join("c");
    join("d");
    GroupMember before = group.members().get("b");
    assertThat(before.memberEpoch()).isGreaterThan(known);
    assertThat(before.previousMemberEpoch()).as("b is more than one answer behind").isNotEqualTo(known);
    assertThat(b.pushes).isPositive();

    Outcome o = b.heartbeat();
    assertThat(o.error()).isEqualTo(ErrorCode.NONE);
    assertThat(b.epoch).isEqualTo(group.members().get("b").memberEpoch());
    converge();
    assertThat(clients.values().stream().mapToInt(c -> c.consuming.size()).sum()).isEqualTo(6);
    assertThat(clients.values()).allSatisfy(c -> assertThat(c.consuming).isNotEmpty());
  }

  @Test
  void aHeartbeatBehindTheMembersEpochConfirmsNoRelease() {
    Client a = join("a");
    join("b");
    converge();
    int known = a.epoch;
    Set<TopicPartition> held = Set.copyOf(a.consuming);
    // b leaves: a is moved on to all six without hearing of it; then c joins and a must give some up.
    clients.remove("b");
    send(new Heartbeat("b", ConsumerGroup.LEAVE_EPOCH, null, null, null, null, null, REBALANCE_MS, Set.of()));
    Client c = join("c");
    GroupMember m = group.members().get("a");
    assertThat(m.memberEpoch()).isGreaterThan(known);
    Set<TopicPartition> pending = Set.copyOf(m.pendingRevocation());
    assertThat(pending).isNotEmpty();

    // Its heartbeat at the old epoch says what it held then: that releases nothing, it may have
    // taken more since (as far as the coordinator can tell).
    Outcome o = send(new Heartbeat("a", known, null, null, null, null, null, REBALANCE_MS, held));
    assertThat(o.error()).isEqualTo(ErrorCode.NONE);
    assertThat(group.members().get("a").pendingRevocation()).isEqualTo(pending);
    assertThat(group.members().get("c").assigned()).doesNotContainAnyElementsOf(pending);
    a.take(o.member());
    a.heartbeat(); // at the current epoch: now the release counts
    assertThat(group.members().get("a").pendingRevocation()).isEmpty();
    converge();
    assertThat(c.consuming).hasSize(3);
  }

  @Test
  void aStaticMemberThatReturnsWithinItsSessionGetsItsPartitionsBackWithoutARebalance() {
    join("a", "instance-a");
    join("b", "instance-b");
    converge();
    Set<TopicPartition> had = Set.copyOf(clients.get("a").consuming);
    int epochBefore = group.groupEpoch();
    Client gone = clients.remove("a");
    assertThat(send(new Heartbeat("a", ConsumerGroup.STATIC_LEAVE_EPOCH, "instance-a", null, null, null, null, REBALANCE_MS,
        Set.of())).error()).isEqualTo(ErrorCode.NONE);
    gone.consuming.clear();
    now += SESSION_MS / 2;
    Client back = join("a2", "instance-a"); // a new process, a new member id, the same instance id
    assertThat(back.consuming).isEqualTo(had);
    assertThat(group.groupEpoch()).isEqualTo(epochBefore);
    assertThat(group.members()).containsOnlyKeys("a2", "b");
    // The old incarnation is fenced.
    assertThat(group.checkCommit("a", gone.epoch, had)).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID);
  }

  @Test
  void moreSubscribedPartitionsBumpTheEpochAndAreAssigned() {
    join("a");
    join("b");
    converge();
    int epoch = group.groupEpoch();
    topics.put("t", 10);
    converge();
    assertThat(group.groupEpoch()).isEqualTo(epoch + 1);
    assertThat(clients.values()).allSatisfy(c -> assertThat(c.consuming).hasSize(5));
  }

  @Test
  void badHeartbeatsAreRefusedAndChangeNothing() {
    join("a");
    int epoch = group.groupEpoch();
    assertThat(send(new Heartbeat("", 0, null, null, null, Set.of("t"), null, REBALANCE_MS, Set.of())).error())
        .isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(send(new Heartbeat("x".repeat(65), 0, null, null, null, Set.of("t"), null, REBALANCE_MS, Set.of())).error())
        .isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(send(new Heartbeat("n", 0, null, null, null, null, null, REBALANCE_MS, Set.of())).error())
        .isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(send(new Heartbeat("n", 0, null, null, null, Set.of("t"), "sticky-nonsense", REBALANCE_MS, Set.of())).error())
        .isEqualTo(ErrorCode.UNSUPPORTED_ASSIGNOR);
    assertThat(send(new Heartbeat("n", 3, null, null, null, Set.of("t"), null, REBALANCE_MS, Set.of())).error())
        .isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID);
    assertThat(group.members()).containsOnlyKeys("a");
    assertThat(group.groupEpoch()).isEqualTo(epoch);
  }

  @Test
  void aSubscriptionToATopicThatDoesNotExistYetIsAssignedWhenItAppears() {
    Client a = new Client("a", null);
    clients.put("a", a);
    send(new Heartbeat("a", 0, null, null, null, Set.of("later"), null, REBALANCE_MS, Set.of())).member();
    a.epoch = group.members().get("a").memberEpoch();
    a.heartbeat();
    assertThat(a.consuming).isEmpty();
    topics.put("later", 2);
    a.heartbeat();
    a.heartbeat();
    assertThat(a.consuming).isEqualTo(parts("later", 0, 1));
  }

  @Test
  void aLoadedGroupIsTheReplayOfItsChangesAndGivesEveryoneAWholeSession() {
    topics.put("t", 12);
    join("a");
    join("b");
    converge();
    join("c"); // mid-rebalance: some partitions pending revocation
    ConsumerGroup loaded = ConsumerGroup.load("g", SESSION_MS, log, now + 5_000);
    assertThat(loaded.members()).isEqualTo(group.members());
    assertThat(loaded.targetAssignment()).isEqualTo(group.targetAssignment());
    assertThat(loaded.groupEpoch()).isEqualTo(group.groupEpoch());
    assertThat(loaded.state()).isEqualTo(group.state());
    assertThat(loaded.nextDeadlineMs()).isEqualTo(now + 5_000 + SESSION_MS + 1);
    // The compact form rebuilds the same group.
    ConsumerGroup compact = ConsumerGroup.load("g", SESSION_MS, group.asChanges(), now);
    assertThat(compact.members()).isEqualTo(group.members());
    assertThat(compact.targetAssignment()).isEqualTo(group.targetAssignment());
    assertThat(compact.asChanges()).isEqualTo(group.asChanges());
  }

  @Test
  void randomJoinsLeavesAndCrashesNeverLetTwoMembersConsumeOnePartition() {
    for (long seed = 1; seed <= 200; seed++) {
      Random rng = new Random(seed);
      ConsumerGroupTest t = new ConsumerGroupTest();
      t.topics.put("t", 1 + rng.nextInt(16));
      int next = 0;
      for (int step = 0; step < 80; step++) {
        int action = rng.nextInt(10);
        List<Client> live = new ArrayList<>(t.clients.values());
        if (action < 2 || live.isEmpty()) {
          t.join("m" + next++);
        } else if (action == 2) {
          Client c = live.get(rng.nextInt(live.size()));
          t.clients.remove(c.id);
          t.send(new Heartbeat(c.id, ConsumerGroup.LEAVE_EPOCH, null, null, null, null, null, REBALANCE_MS, Set.of()));
        } else if (action == 3) {
          t.clients.remove(live.get(rng.nextInt(live.size())).id); // crashed: only its session ends it
          t.now += SESSION_MS + 1;
          for (Client c : t.clients.values()) c.heartbeat();
          t.record(t.group.expire(t.now, t.topics, t.assignors));
        } else if (action == 4) {
          t.topics.put("t", t.topics.get("t") + 1);
        } else {
          live.get(rng.nextInt(live.size())).heartbeat();
        }
        t.now += 10;
      }
      if (!t.clients.isEmpty()) {
        t.converge();
        int total = t.topics.get("t");
        assertThat(t.clients.values().stream().mapToInt(c -> c.consuming.size()).sum()).as("seed " + seed).isEqualTo(total);
      }
    }
  }
}
