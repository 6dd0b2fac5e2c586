package dev.brook.broker.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.broker.group.ConsumerGroup.Heartbeat;
import dev.brook.broker.group.ConsumerGroup.Outcome;
import dev.brook.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GroupCoordinatorTest {
  private static final long SESSION_MS = 10_000;

  /** An in-memory store whose writes can be held back or refused. */
  private static final class FakeStore implements GroupStore {
    final Map<String, List<GroupChange>> durable = new ConcurrentHashMap<>();
    final Map<String, Map<TopicPartition, OffsetAndMetadata>> offsets = new ConcurrentHashMap<>();
    final List<CompletableFuture<Void>> held = new ArrayList<>();
    volatile boolean hold;
    volatile boolean refuse;
    int writes;

    @Override
    public CompletableFuture<List<GroupChange>> load(String groupId) {
      List<GroupChange> history = durable.getOrDefault(groupId, List.of());
      return CompletableFuture.completedFuture(ConsumerGroup.load(groupId, SESSION_MS, history, 0).asChanges());
    }

    @Override
    public CompletableFuture<List<GroupChange>> read(String groupId) {
      return load(groupId);
    }

    @Override
    public CompletableFuture<Void> delete(String groupId) {
      boolean existed = durable.remove(groupId) != null | offsets.remove(groupId) != null;
      return existed ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(
          new GroupCoordinator.GroupCallException(ErrorCode.GROUP_ID_NOT_FOUND, "no group " + groupId, null));
    }

    /** Runs at the start of every write, outside the store's own lock. */
    volatile java.util.function.Consumer<String> beforeWrite = g -> { };

    @Override
    public CompletableFuture<Void> write(String groupId, List<GroupChange> changes) {
      beforeWrite.accept(groupId);
      return writeLocked(groupId, changes);
    }

    private synchronized CompletableFuture<Void> writeLocked(String groupId, List<GroupChange> changes) {
      writes++;
      if (refuse) return CompletableFuture.failedFuture(new IllegalStateException("not the coordinator by the quorum"));
      CompletableFuture<Void> done = new CompletableFuture<>();
      CompletableFuture<Void> out = done.thenRun(() -> durable.computeIfAbsent(groupId, k -> new ArrayList<>()).addAll(changes));
      if (hold) {
        held.add(done);
      } else {
        done.complete(null);
      }
      return out;
    }

    @Override
    public CompletableFuture<Void> commitOffsets(String groupId, String memberId, int memberEpoch,
        Map<TopicPartition, OffsetAndMetadata> committed) {
      offsets.computeIfAbsent(groupId, k -> new ConcurrentHashMap<>()).putAll(committed);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> fetchOffsets(String groupId, Set<TopicPartition> partitions) {
      Map<TopicPartition, OffsetAndMetadata> all = offsets.getOrDefault(groupId, Map.of());
      Map<TopicPartition, OffsetAndMetadata> out = new java.util.TreeMap<>();
      all.forEach((tp, o) -> {
        if (partitions.isEmpty() || partitions.contains(tp)) out.put(tp, o);
      });
      return CompletableFuture.completedFuture(out);
    }
  }

  private final FakeStore store = new FakeStore();
  private final AtomicLong clock = new AtomicLong(1_000);
  private final GroupCoordinator coordinator =
      new GroupCoordinator(store, Assignors.builtIn(), SESSION_MS, clock::get, () -> Map.of("t", 4));

  private static Heartbeat join(String member) {
    return new Heartbeat(member, 0, null, "c", "/h", Set.of("t"), null, 30_000, Set.of());
  }

  private static Heartbeat beat(String member, int epoch, Set<TopicPartition> owned) {
    return new Heartbeat(member, epoch, null, null, null, null, null, 30_000, owned);
  }

  @Test
  void onlyStateChangesAreWrittenAndAnswersWaitForThem() throws Exception {
    store.hold = true;
    CompletableFuture<Outcome> joined = coordinator.heartbeat("g", join("a"));
    assertThat(joined).isNotDone(); // its changes are not durable yet
    store.held.forEach(f -> f.complete(null));
    Outcome o = joined.get(5, TimeUnit.SECONDS);
    assertThat(o.member().assigned()).hasSize(4);
    store.hold = false;
    int writes = store.writes;
    Outcome again = coordinator.heartbeat("g", beat("a", o.member().memberEpoch(), o.member().assigned())).get(5, TimeUnit.SECONDS);
    assertThat(again.changes()).isEmpty();
    assertThat(store.writes).isEqualTo(writes); // a plain heartbeat is answered from memory
  }

  @Test
  void othersLearnTheirNewAssignmentByPushOnceItIsDurable() throws Exception {
    Outcome a = coordinator.heartbeat("g", join("a")).get(5, TimeUnit.SECONDS);
    List<GroupMember> pushed = new ArrayList<>();
    coordinator.registerStream("g", "a", pushed::add);
    store.hold = true;
    CompletableFuture<Outcome> b = coordinator.heartbeat("g", join("b"));
    assertThat(pushed).isEmpty();
    store.held.forEach(f -> f.complete(null));
    b.get(5, TimeUnit.SECONDS);
    // a is asked to give up half of its partitions, right away and not at its next heartbeat.
    assertThat(pushed).singleElement().satisfies(m -> {
      assertThat(m.pendingRevocation()).hasSize(2);
      assertThat(m.memberEpoch()).isEqualTo(a.member().memberEpoch());
    });
  }

  @Test
  void aFailedWriteIsForgottenAndTheGroupReloadedFromTheStore() throws Exception {
    Outcome a = coordinator.heartbeat("g", join("a")).get(5, TimeUnit.SECONDS);
    store.refuse = true;
    assertThatThrownBy(() -> coordinator.heartbeat("g", join("b")).get(5, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    store.refuse = false;
    // b never became a member: a's next heartbeat finds the durable group, with a alone.
    Outcome next = coordinator.heartbeat("g", beat("a", a.member().memberEpoch(), a.member().assigned())).get(5, TimeUnit.SECONDS);
    assertThat(next.error()).isEqualTo(ErrorCode.NONE);
    assertThat(coordinator.loaded("g").members()).containsOnlyKeys("a");
  }

  @Test
  void aNewCoordinatorLoadsTheGroupAndGivesEveryoneAWholeSession() throws Exception {
    Outcome a = coordinator.heartbeat("g", join("a")).get(5, TimeUnit.SECONDS);
    clock.addAndGet(SESSION_MS - 1);
    GroupCoordinator next = new GroupCoordinator(store, Assignors.builtIn(), SESSION_MS, clock::get, () -> Map.of("t", 4));
    Outcome resumed = next.heartbeat("g", beat("a", a.member().memberEpoch(), a.member().assigned())).get(5, TimeUnit.SECONDS);
    assertThat(resumed.member().assigned()).isEqualTo(a.member().assigned());
    assertThat(next.nextDeadlineMs()).isEqualTo(clock.get() + SESSION_MS + 1);
    clock.addAndGet(SESSION_MS + 1);
    next.expireAll().get(5, TimeUnit.SECONDS);
    assertThat(next.loaded("g").members()).isEmpty();
    assertThat(ConsumerGroup.load("g", SESSION_MS, store.durable.get("g"), 0).members()).isEmpty();
  }

  @Test
  void commitsNeedTheCurrentEpochOwnershipAndSaneValues() throws Exception {
    Outcome a = coordinator.heartbeat("g", join("a")).get(5, TimeUnit.SECONDS);
    TopicPartition t0 = new TopicPartition("t", 0);
    int epoch = a.member().memberEpoch();
    OffsetAndMetadata ten = new OffsetAndMetadata(10, 3, "m", 1);
    assertThat(coordinator.commitOffsets("g", "a", epoch, Map.of(t0, ten)).get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NONE);
    assertThat(coordinator.fetchOffsets("g", Set.of(t0)).get(5, TimeUnit.SECONDS)).containsEntry(t0, ten);
    assertThat(coordinator.commitOffsets("g", "a", epoch - 1, Map.of(t0, ten)).get(5, TimeUnit.SECONDS))
        .isEqualTo(ErrorCode.STALE_MEMBER_EPOCH);
    assertThat(coordinator.commitOffsets("g", "zombie", epoch, Map.of(t0, ten)).get(5, TimeUnit.SECONDS))
        .isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID);
    assertThat(coordinator.commitOffsets("g", "a", epoch, Map.of(new TopicPartition("t", 9), ten)).get(5, TimeUnit.SECONDS))
        .isEqualTo(ErrorCode.PARTITION_NOT_OWNED);
    assertThat(coordinator.commitOffsets("g", "a", epoch, Map.of(t0, new OffsetAndMetadata(-1, -1, "", 1)))
        .get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(coordinator.commitOffsets("g", "a", epoch, Map.of(t0, new OffsetAndMetadata(1, -1, "x".repeat(4097), 1)))
        .get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.INVALID_REQUEST);
    // Nothing of a refused commit was stored.
    assertThat(coordinator.fetchOffsets("g", Set.of()).get(5, TimeUnit.SECONDS)).containsExactly(Map.entry(t0, ten));
  }

  @Test
  void theOffsetCheckRunsOnlyForAMemberThatMayCommitAndNeverReordersCommits() throws Exception {
    Outcome a = coordinator.heartbeat("g", join("a")).get(5, TimeUnit.SECONDS);
    TopicPartition t0 = new TopicPartition("t", 0);
    int epoch = a.member().memberEpoch();
    java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
    GroupCoordinator.OffsetCheck beyondTheLog = o -> {
      checks.incrementAndGet();
      return CompletableFuture.failedFuture(new GroupCoordinator.GroupCallException(ErrorCode.OFFSET_OUT_OF_RANGE, "beyond", null));
    };
    OffsetAndMetadata far = new OffsetAndMetadata(1_000_000, -1, "", 0);
    // A zombie hears that it is fenced, not what is wrong with its offsets.
    assertThat(coordinator.commitOffsets("g", "a", epoch - 1, Map.of(t0, far), beyondTheLog).get(5, TimeUnit.SECONDS))
        .isEqualTo(ErrorCode.STALE_MEMBER_EPOCH);
    assertThat(checks).hasValue(0);
    assertThatThrownBy(() -> coordinator.commitOffsets("g", "a", epoch, Map.of(t0, far), beyondTheLog).get(5, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE));
    assertThat(checks).hasValue(1);
    assertThat(coordinator.fetchOffsets("g", Set.of()).get(5, TimeUnit.SECONDS)).isEmpty();

    // A slow check of the first commit holds the second back, but not the group's heartbeats.
    CompletableFuture<Void> slow = new CompletableFuture<>();
    CompletableFuture<ErrorCode> first = coordinator.commitOffsets("g", "a", epoch, Map.of(t0, new OffsetAndMetadata(5, -1, "", 0)),
        o -> slow);
    CompletableFuture<ErrorCode> second = coordinator.commitOffsets("g", "a", epoch, Map.of(t0, new OffsetAndMetadata(6, -1, "", 0)),
        GroupCoordinator.OffsetCheck.NONE);
    assertThat(coordinator.heartbeat("g", beat("a", epoch, a.member().assigned())).get(5, TimeUnit.SECONDS).error())
        .isEqualTo(ErrorCode.NONE);
    assertThat(second).isNotDone();
    assertThat(store.offsets.getOrDefault("g", Map.of())).isEmpty();
    slow.complete(null);
    assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NONE);
    assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NONE);
    assertThat(coordinator.fetchOffsets("g", Set.of(t0)).get(5, TimeUnit.SECONDS).get(t0).offset()).isEqualTo(6);
  }

  @Test
  void callsOfTwoGroupsThatStartEachOthersCallsDoNotDeadlock() throws Exception {
    // Each group's first write, in its own thread, starts a call of the other group while both
    // are inside their writes: if a call ran under its group's monitor, each thread would hold
    // one group and wait for the other's.
    java.util.concurrent.CyclicBarrier bothWriting = new java.util.concurrent.CyclicBarrier(2);
    java.util.concurrent.atomic.AtomicInteger triggers = new java.util.concurrent.atomic.AtomicInteger();
    List<CompletableFuture<Outcome>> nested = java.util.Collections.synchronizedList(new ArrayList<>());
    store.beforeWrite = g -> {
      if (triggers.incrementAndGet() > 2) return;
      try {
        bothWriting.await(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      nested.add(coordinator.heartbeat(g.equals("a") ? "b" : "a", join("late")));
    };
    CompletableFuture<Outcome> a = CompletableFuture.supplyAsync(() -> coordinator.heartbeat("a", join("m"))).thenCompose(f -> f);
    CompletableFuture<Outcome> b = CompletableFuture.supplyAsync(() -> coordinator.heartbeat("b", join("m"))).thenCompose(f -> f);
    assertThat(a.get(5, TimeUnit.SECONDS).error()).isEqualTo(ErrorCode.NONE);
    assertThat(b.get(5, TimeUnit.SECONDS).error()).isEqualTo(ErrorCode.NONE);
    assertThat(nested).hasSize(2);
    for (CompletableFuture<Outcome> n : nested) assertThat(n.get(5, TimeUnit.SECONDS).error()).isEqualTo(ErrorCode.NONE);
    assertThat(coordinator.loaded("a").members()).containsOnlyKeys("m", "late");
    assertThat(coordinator.loaded("b").members()).containsOnlyKeys("m", "late");
  }
}
