package dev.brook.broker.group;

import dev.brook.broker.group.ConsumerGroup.Heartbeat;
import dev.brook.broker.group.ConsumerGroup.Outcome;
import dev.brook.proto.v1.ErrorCode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's side of consumer groups, apart from gRPC: each group's calls run one after
 * another (a per-group chain of futures), on the group's state in memory; a call that changes
 * nothing durable (most heartbeats) is answered at once, one that does is answered only after
 * its changes are written to the {@link GroupStore}. New assignments of other members are pushed
 * to them (through their registered stream) once written.
 *
 * <p>Invariant: the state in memory is the durable state plus nothing. A call's changes are
 * applied in memory when decided (the next call of the group sees them), but no answer or push
 * that depends on them leaves before they are durable, and when a write fails the group is
 * dropped from memory and loaded again from the store by its next call, so state that did not
 * become durable is never acted on.
 */
public final class GroupCoordinator {
  private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);

  /** A group call failed for a reason the client handles by retrying (possibly elsewhere). */
  public static final class GroupCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public GroupCallException(ErrorCode code, String message, Throwable cause) {
      super(message, cause);
      this.code = code;
    }

    public ErrorCode code() {
      return code;
    }
  }

  private final GroupStore store;
  private final Assignors assignors;
  private final long sessionTimeoutMs;
  private final LongSupplier clockMs;
  private final Supplier<Map<String, Integer>> topics;
  private final Map<String, Slot> groups = new ConcurrentHashMap<>();
  /** group id / member id to the member's stream. */
  private final Map<String, Consumer<GroupMember>> pushers = new ConcurrentHashMap<>();

  /** One group's state and the tail of its chain of calls. */
  private static final class Slot {
    /** Null until loaded, and after a failed write; touched only by the group's chain of calls. */
    volatile ConsumerGroup group;
    /** The group's next deadline as of its last call, readable from any thread. */
    volatile long deadlineMs = Long.MAX_VALUE;
    CompletableFuture<?> tail = CompletableFuture.completedFuture(null); // guarded by the slot
    /** Completes once the group's last commit was handed to the store (or refused); guarded by the slot. */
    CompletableFuture<?> commitTail = CompletableFuture.completedFuture(null);
  }

  /**
   * @param topics partition count of every existing topic, from the current metadata image
   * @param clockMs a monotonic clock in ms (tests pass a fake one)
   */
  public GroupCoordinator(GroupStore store, Assignors assignors, long sessionTimeoutMs, LongSupplier clockMs,
      Supplier<Map<String, Integer>> topics) {
    this.store = store;
    this.assignors = assignors;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.clockMs = clockMs;
    this.topics = topics;
  }

  /** A member's heartbeat; completes with its outcome once anything it changed is durable. */
  public CompletableFuture<Outcome> heartbeat(String groupId, Heartbeat h) {
    return run(groupId, g -> g.heartbeat(h, clockMs.getAsLong(), topics.get(), assignors));
  }

  /**
   * A check of the offsets themselves (that their partitions exist, that they lie within the
   * logs), which may need calls to other brokers. It runs only once the member's right to commit
   * is established, so a fenced zombie hears that it is fenced, whatever it commits.
   */
  @FunctionalInterface
  public interface OffsetCheck {
    /** Accepts no check: every offset that passed the coordinator's own checks is committed. */
    OffsetCheck NONE = offsets -> CompletableFuture.completedFuture(null);

    /** Completes normally to go on, or exceptionally with a {@link GroupCallException} to refuse the whole commit. */
    CompletableFuture<Void> check(Map<TopicPartition, OffsetAndMetadata> offsets);
  }

  /** {@link #commitOffsets(String, String, int, Map, OffsetCheck)} without an offset check. */
  public CompletableFuture<ErrorCode> commitOffsets(String groupId, String memberId, int memberEpoch,
      Map<TopicPartition, OffsetAndMetadata> offsets) {
    return commitOffsets(groupId, memberId, memberEpoch, offsets, OffsetCheck.NONE);
  }

  /**
   * Commits offsets for {@code groupId} on behalf of {@code memberId} at {@code memberEpoch} (an
   * empty member id and a negative epoch for a commit without membership, allowed only while the
   * group has no members). The whole commit is refused when a value is bad, when the member may
   * not commit one of the partitions (see {@link ConsumerGroup#checkCommit}), or then by
   * {@code offsetCheck}; completes once durable.
   *
   * <p>Invariant: a group's commits reach the store in the order they were checked in the group's
   * chain, however long each one's offset check takes, so a later commit is never overwritten by
   * an earlier one. The membership check runs in the chain; the offset check and the write do not
   * hold the chain (heartbeats) up.
   */
  public CompletableFuture<ErrorCode> commitOffsets(String groupId, String memberId, int memberEpoch,
      Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCheck offsetCheck) {
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
      OffsetAndMetadata o = e.getValue();
      if (o.offset() < 0 || o.metadata().length() > OffsetAndMetadata.MAX_METADATA_LENGTH) {
        return CompletableFuture.completedFuture(ErrorCode.INVALID_REQUEST);
      }
    }
    Slot s = groups.computeIfAbsent(groupId, k -> new Slot());
    // Under the monitor only the two tails move, so the chain order and the hand-over order agree;
    // nothing runs under it (see run).
    Queued check;
    CompletableFuture<Void> handedOver = new CompletableFuture<>();
    CompletableFuture<?> previousHandOver;
    synchronized (s) {
      check = enqueue(s);
      previousHandOver = s.commitTail;
      s.commitTail = handedOver;
    }
    CompletableFuture<Outcome> checked = start(check, groupId, s,
        g -> new Outcome(g.checkCommit(memberId, memberEpoch, offsets.keySet()), "", null, List.of(), Set.of()));
    CompletableFuture<ErrorCode> verdict = checked.thenCompose(o -> o.error() != ErrorCode.NONE
        ? CompletableFuture.completedFuture(o.error()) : offsetCheck.check(offsets).thenApply(ignored -> ErrorCode.NONE));
    // The store also checks the member epoch again, in the quorum.
    CompletableFuture<CompletableFuture<ErrorCode>> stored = previousHandOver.handle((r, e) -> null)
        .thenCompose(ignored -> verdict)
        .thenApply(code -> code != ErrorCode.NONE ? CompletableFuture.completedFuture(code)
            : store.commitOffsets(groupId, memberId, memberEpoch, offsets).handle((v, e) -> {
              if (e != null) throw unavailable(groupId, "cannot commit offsets of group " + groupId, e);
              return ErrorCode.NONE;
            }));
    stored.whenComplete((f, e) -> handedOver.complete(null));
    return stored.thenCompose(written -> written);
  }

  /** The committed offsets of {@code partitions} (all when empty), from the store. */
  public CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> fetchOffsets(String groupId, Set<TopicPartition> partitions) {
    return store.fetchOffsets(groupId, partitions);
  }

  /**
   * The group's durable state for describe (from the store, on any broker), or null when the
   * group has never been written.
   */
  public CompletableFuture<ConsumerGroup> describe(String groupId) {
    return store.read(groupId).thenApply(history -> history.isEmpty() ? null
        : ConsumerGroup.load(groupId, sessionTimeoutMs, history, clockMs.getAsLong()));
  }

  /**
   * Deletes a group without members and its committed offsets: NONE, NON_EMPTY_GROUP,
   * GROUP_ID_NOT_FOUND, or the store's failure code.
   */
  public CompletableFuture<ErrorCode> delete(String groupId) {
    return run(groupId, g -> new Outcome(g.members().isEmpty() ? ErrorCode.NONE : ErrorCode.NON_EMPTY_GROUP, "", null,
        List.of(), Set.of()))
        .thenCompose(o -> o.error() != ErrorCode.NONE ? CompletableFuture.completedFuture(o.error())
            : store.delete(groupId).handle((v, e) -> {
              unload(groupId);
              if (e != null) return codeOf(e);
              return ErrorCode.NONE;
            }));
  }

  /** Removes the members of loaded groups whose session or rebalance timeout passed. */
  public CompletableFuture<Void> expireAll() {
    CompletableFuture<?>[] all = groups.keySet().stream()
        .map(id -> run(id, g -> g.expire(clockMs.getAsLong(), topics.get(), assignors))
            .exceptionally(e -> null))
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(all);
  }

  /** The earliest deadline of any loaded group (see {@link ConsumerGroup#nextDeadlineMs}). */
  public long nextDeadlineMs() {
    long next = Long.MAX_VALUE;
    for (Slot s : groups.values()) next = Math.min(next, s.deadlineMs);
    return next;
  }

  /** Where a member's pushed assignments go while its stream is open. */
  public void registerStream(String groupId, String memberId, Consumer<GroupMember> push) {
    pushers.put(groupId + "/" + memberId, push);
  }

  public void unregisterStream(String groupId, String memberId) {
    pushers.remove(groupId + "/" + memberId);
  }

  /** Forgets a group this broker no longer coordinates (its next call here loads it again). */
  public void unload(String groupId) {
    Slot s = groups.get(groupId);
    if (s == null) return;
    synchronized (s) {
      s.tail = s.tail.handle((r, e) -> {
        s.group = null;
        return null;
      });
    }
  }

  /** The loaded groups' ids (for tests and describe). */
  public Set<String> loadedGroups() {
    return Set.copyOf(groups.keySet());
  }

  /**
   * Appends {@code call} to the group's chain. Invariant: no call runs while a slot's monitor is
   * held — the monitor only swaps the tail for a new, incomplete future, and the call is wired
   * after it is released. (Running it under the monitor, where a completed tail runs it inline,
   * let a call that completes other futures run other groups' calls inside it: two threads each
   * holding one group's monitor and waiting for the other's deadlocked the broker under 10,000
   * members.)
   */
  private CompletableFuture<Outcome> run(String groupId, Function<ConsumerGroup, Outcome> call) {
    Slot s = groups.computeIfAbsent(groupId, k -> new Slot());
    Queued q;
    synchronized (s) {
      q = enqueue(s);
    }
    return start(q, groupId, s, call);
  }

  /** A call's place in its group's chain: the call before it, and its own result. */
  private record Queued(CompletableFuture<?> previous, CompletableFuture<Outcome> result) {}

  /** Caller holds {@code s}'s monitor. */
  private static Queued enqueue(Slot s) {
    Queued q = new Queued(s.tail, new CompletableFuture<>());
    s.tail = q.result();
    return q;
  }

  /** Caller holds no slot's monitor: the call may run at once, in this thread. */
  private CompletableFuture<Outcome> start(Queued q, String groupId, Slot s, Function<ConsumerGroup, Outcome> call) {
    q.previous().handle((r, e) -> null).thenCompose(ignored -> step(groupId, s, call)).whenComplete((o, e) -> {
      if (e != null) {
        q.result().completeExceptionally(e);
      } else {
        q.result().complete(o);
      }
    });
    return q.result();
  }

  private CompletableFuture<Outcome> step(String groupId, Slot s, Function<ConsumerGroup, Outcome> call) {
    CompletableFuture<ConsumerGroup> loaded = s.group != null ? CompletableFuture.completedFuture(s.group)
        : store.load(groupId).thenApply(history -> {
          ConsumerGroup g = ConsumerGroup.load(groupId, sessionTimeoutMs, history, clockMs.getAsLong());
          s.group = g;
          return g;
        });
    return loaded.handle((g, e) -> {
      if (e != null) throw unavailable(groupId, "cannot load group " + groupId, e);
      return g;
    }).thenCompose(g -> {
      Outcome o = call.apply(g);
      s.deadlineMs = g.nextDeadlineMs();
      if (o.changes().isEmpty()) return CompletableFuture.completedFuture(o);
      return store.write(groupId, o.changes()).handle((v, e) -> {
        if (e != null) {
          s.group = null; // what did not become durable is forgotten: the next call reloads
          throw unavailable(groupId, "cannot write group " + groupId, e);
        }
        for (String member : o.touched()) push(groupId, g.members().get(member));
        return o;
      });
    });
  }

  private void push(String groupId, GroupMember m) {
    if (m == null) return;
    Consumer<GroupMember> p = pushers.get(groupId + "/" + m.memberId());
    if (p == null) return; // it learns its assignment from its next heartbeat
    try {
      p.accept(m);
    } catch (RuntimeException e) {
      LOG.debug("pushing the assignment of {} in group {} failed: {}", m.memberId(), groupId, e.toString());
    }
  }

  private static GroupCallException unavailable(String groupId, String what, Throwable e) {
    Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof GroupCallException g) return g;
    return new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE, what + ": " + cause, cause);
  }

  /** For tests: the loaded state of a group, or null. Call only when no call of the group runs. */
  ConsumerGroup loaded(String groupId) {
    Slot s = groups.get(groupId);
    return s == null ? null : s.group;
  }

  /** The group calls' answer codes for a failure from {@link #heartbeat}. */
  public static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
    return c instanceof GroupCallException g ? g.code() : ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}
