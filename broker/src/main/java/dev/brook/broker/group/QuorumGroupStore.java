package dev.brook.broker.group;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.broker.group.GroupChange.GroupEpochBumped;
import dev.brook.broker.group.GroupChange.MemberRemoved;
import dev.brook.broker.group.GroupChange.MemberUpdated;
import dev.brook.broker.group.GroupChange.TargetAssigned;
import dev.brook.broker.group.GroupCoordinator.GroupCallException;
import dev.brook.broker.group.GroupStateCodec.GroupLevel;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.GroupStateClient;
import dev.brook.quorum.GroupStateClient.CommittedOffset;
import dev.brook.quorum.GroupStateClient.DurableMember;
import dev.brook.quorum.GroupStateClient.OffsetCommit;
import dev.brook.quorum.GroupStateClient.OffsetCommitResult;
import dev.brook.quorum.GroupStateClient.OffsetKey;
import dev.brook.quorum.QuorumException;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The {@link GroupStore} over the metadata quorum's group domain ({@link GroupStateClient}).
 *
 * <p>Each write names the group version it was decided on, the one this store last loaded or
 * wrote: if another coordinator wrote in between, the quorum refuses it, this store forgets the
 * group, and the coordinator reloads it (its {@link GroupCoordinator} drops a group whose write
 * failed). Every write carries this broker's id and current broker epoch, so the quorum accepts
 * it only while this broker is the group's coordinator.
 *
 * <p>Offset commits are batched: while one commit write is in flight, the commits that arrive
 * (of any groups) wait and go together in the next one, at most {@link #MAX_COMMITS_PER_WRITE};
 * each is answered once its own write is applied.
 *
 * <p>Thread-safe: calls of one group come one at a time (the coordinator's chain), calls of
 * different groups concurrently.
 */
public final class QuorumGroupStore implements GroupStore {
  static final int MAX_COMMITS_PER_WRITE = 1000;

  /** What this store last read or wrote of a group. */
  private record Known(long version, GroupLevel level) {}

  private record PendingCommit(OffsetCommit commit, CompletableFuture<Void> done) {}

  private final GroupStateClient quorum;
  private final int brokerId;
  private final LongSupplier brokerEpoch;
  private final Map<String, Known> known = new ConcurrentHashMap<>();
  private final ArrayDeque<PendingCommit> queued = new ArrayDeque<>(); // guarded by itself
  private boolean commitInFlight; // guarded by queued

  /** @param brokerEpoch this broker's current registration epoch (-1 while unregistered) */
  public QuorumGroupStore(GroupStateClient quorum, int brokerId, LongSupplier brokerEpoch) {
    this.quorum = quorum;
    this.brokerId = brokerId;
    this.brokerEpoch = brokerEpoch;
  }

  @Override
  public CompletableFuture<List<GroupChange>> load(String groupId) {
    return fetch(groupId, true);
  }

  @Override
  public CompletableFuture<List<GroupChange>> read(String groupId) {
    return fetch(groupId, false);
  }

  private CompletableFuture<List<GroupChange>> fetch(String groupId, boolean track) {
    return quorum.fetchGroup(groupId).handle((g, e) -> {
      if (e != null) throw failure(groupId, e);
      try {
        GroupLevel level = GroupStateCodec.decodeLevel(g.data());
        List<GroupMember> members = new ArrayList<>(g.members().size());
        for (DurableMember m : g.members()) members.add(GroupStateCodec.decodeMember(m.data()));
        if (track) known.put(groupId, new Known(g.version(), level));
        return g.version() == 0 ? List.of() : GroupStateCodec.asChanges(level, members);
      } catch (InvalidProtocolBufferException ex) {
        throw new GroupCallException(ErrorCode.UNKNOWN_SERVER_ERROR, "group " + groupId + " is stored in a form this broker"
            + " cannot read: " + ex.getMessage(), ex);
      }
    });
  }

  @Override
  public CompletableFuture<Void> delete(String groupId) {
    Known k = known.get(groupId);
    long epoch = brokerEpoch.getAsLong();
    if (k == null || epoch < 0) {
      return CompletableFuture.failedFuture(new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
          "group " + groupId + " must be loaded by a registered coordinator before it is deleted", null));
    }
    return quorum.writeGroup(new GroupStateClient.GroupWrite(groupId, brokerId, epoch, k.version(), null, List.of(), List.of(),
        true)).handle((version, e) -> {
          known.remove(groupId);
          if (e != null) throw failure(groupId, e);
          return null;
        });
  }

  @Override
  public CompletableFuture<Void> write(String groupId, List<GroupChange> changes) {
    Known k = known.get(groupId);
    if (k == null) {
      return CompletableFuture.failedFuture(new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
          "group " + groupId + " must be loaded again before it is written", null));
    }
    long epoch = brokerEpoch.getAsLong();
    if (epoch < 0) {
      return CompletableFuture.failedFuture(new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
          "broker " + brokerId + " is not registered", null));
    }
    GroupLevel level = k.level();
    boolean levelChanged = false;
    Map<String, GroupMember> puts = new LinkedHashMap<>();
    Set<String> removals = new LinkedHashSet<>();
    for (GroupChange c : changes) {
      if (c instanceof MemberUpdated u) {
        puts.put(u.member().memberId(), u.member());
      } else if (c instanceof MemberRemoved r) {
        // The quorum removes before it puts: a later update of the same id must not survive.
        puts.remove(r.memberId());
        removals.add(r.memberId());
      } else if (c instanceof GroupEpochBumped || c instanceof TargetAssigned) {
        level = level.with(c);
        levelChanged = true;
      }
    }
    List<DurableMember> encoded = new ArrayList<>(puts.size());
    for (GroupMember m : puts.values()) {
      encoded.add(new DurableMember(m.memberId(), m.memberEpoch(), GroupStateCodec.encode(m)));
    }
    ByteString data = levelChanged ? GroupStateCodec.encode(level) : null;
    GroupLevel after = level;
    return quorum.writeGroup(new GroupStateClient.GroupWrite(groupId, brokerId, epoch, k.version(), data, encoded,
        List.copyOf(removals), false)).handle((version, e) -> {
          if (e != null) {
            known.remove(groupId);
            throw failure(groupId, e);
          }
          known.put(groupId, new Known(version, after));
          return null;
        });
  }

  @Override
  public CompletableFuture<Void> commitOffsets(String groupId, String memberId, int memberEpoch,
      Map<TopicPartition, OffsetAndMetadata> offsets) {
    List<CommittedOffset> list = new ArrayList<>(offsets.size());
    offsets.forEach((tp, o) -> list.add(new CommittedOffset(tp.topic(), tp.partition(), o.offset(), o.leaderEpoch(),
        o.metadata(), 0)));
    PendingCommit p = new PendingCommit(new OffsetCommit(groupId, memberId, memberEpoch, list), new CompletableFuture<>());
    List<PendingCommit> batch;
    synchronized (queued) {
      queued.add(p);
      if (commitInFlight) return p.done();
      commitInFlight = true;
      batch = drain();
    }
    send(batch);
    return p.done();
  }

  /** Caller holds {@code queued}. */
  private List<PendingCommit> drain() {
    List<PendingCommit> batch = new ArrayList<>(Math.min(queued.size(), MAX_COMMITS_PER_WRITE));
    while (!queued.isEmpty() && batch.size() < MAX_COMMITS_PER_WRITE) batch.add(queued.poll());
    return batch;
  }

  private void send(List<PendingCommit> batch) {
    List<OffsetCommit> commits = new ArrayList<>(batch.size());
    for (PendingCommit p : batch) commits.add(p.commit());
    CompletableFuture<List<OffsetCommitResult>> sent;
    long epoch = brokerEpoch.getAsLong();
    if (epoch < 0) {
      sent = CompletableFuture.failedFuture(new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
          "broker " + brokerId + " is not registered", null));
    } else {
      try {
        sent = quorum.commitOffsets(brokerId, epoch, commits);
      } catch (RuntimeException e) {
        sent = CompletableFuture.failedFuture(e);
      }
    }
    sent.whenComplete((results, e) -> {
      for (int i = 0; i < batch.size(); i++) {
        PendingCommit p = batch.get(i);
        if (e != null) {
          p.done().completeExceptionally(failure(p.commit().groupId(), e));
        } else {
          complete(p, results.get(i));
        }
      }
      List<PendingCommit> next;
      synchronized (queued) {
        if (queued.isEmpty()) {
          commitInFlight = false;
          return;
        }
        next = drain();
      }
      send(next);
    });
  }

  private static void complete(PendingCommit p, OffsetCommitResult r) {
    if (r.error() != ErrorCode.NONE) {
      p.done().completeExceptionally(new GroupCallException(r.error(), r.message(), null));
    } else if (!r.partitionErrors().isEmpty()) {
      // The other partitions were committed; the caller learns that some were not.
      Map.Entry<OffsetKey, ErrorCode> first = r.partitionErrors().entrySet().iterator().next();
      p.done().completeExceptionally(new GroupCallException(first.getValue(), r.partitionErrors().size()
          + " partitions not committed, e.g. " + first.getKey().topic() + "-" + first.getKey().partition(), null));
    } else {
      p.done().complete(null);
    }
  }

  @Override
  public CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> fetchOffsets(String groupId, Set<TopicPartition> partitions) {
    List<OffsetKey> keys = new ArrayList<>(partitions.size());
    for (TopicPartition tp : partitions) keys.add(new OffsetKey(tp.topic(), tp.partition()));
    return quorum.fetchOffsets(groupId, keys).handle((list, e) -> {
      if (e != null) throw failure(groupId, e);
      Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
      for (CommittedOffset o : list) {
        out.put(new TopicPartition(o.topic(), o.partition()),
            new OffsetAndMetadata(o.offset(), o.leaderEpoch(), o.metadata(), o.commitTimestampMs()));
      }
      return out;
    });
  }

  /** A group call's error for a failed quorum call: what the client does next follows from it. */
  static GroupCallException failure(String groupId, Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof GroupCallException g) return g;
    if (cause instanceof QuorumException q) {
      ErrorCode code = switch (q.code()) {
        case NOT_COORDINATOR, INVALID_GROUP_ID, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND -> q.code();
        // Another coordinator wrote since this one read: this one is being replaced.
        case INVALID_UPDATE_VERSION -> ErrorCode.NOT_COORDINATOR;
        default -> ErrorCode.COORDINATOR_NOT_AVAILABLE;
      };
      return new GroupCallException(code, "group " + groupId + ": " + q.getMessage(), q);
    }
    return new GroupCallException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "group " + groupId + ": " + cause, cause);
  }
}
