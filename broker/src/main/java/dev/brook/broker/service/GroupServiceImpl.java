package dev.brook.broker.service;

import dev.brook.broker.group.ConsumerGroup;
import dev.brook.broker.group.ConsumerGroup.Heartbeat;
import dev.brook.broker.group.ConsumerGroup.Outcome;
import dev.brook.broker.group.GroupCoordinator;
import dev.brook.broker.group.GroupCoordinator.GroupCallException;
import dev.brook.broker.group.GroupMember;
import dev.brook.broker.group.OffsetAndMetadata;
import dev.brook.broker.group.TopicPartition;
import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.CommittedPartitionOffset;
import dev.brook.proto.v1.DeleteGroupsRequest;
import dev.brook.proto.v1.DeleteGroupsResponse;
import dev.brook.proto.v1.DeletedGroup;
import dev.brook.proto.v1.DescribeGroupsRequest;
import dev.brook.proto.v1.DescribeGroupsResponse;
import dev.brook.proto.v1.DescribedGroup;
import dev.brook.proto.v1.DescribedMember;
import dev.brook.proto.v1.ListGroupsRequest;
import dev.brook.proto.v1.ListGroupsResponse;
import dev.brook.proto.v1.ListedGroup;
import dev.brook.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.brook.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FindCoordinatorRequest;
import dev.brook.proto.v1.FindCoordinatorResponse;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.GroupTopicPartitions;
import dev.brook.proto.v1.OffsetCommitPartition;
import dev.brook.proto.v1.OffsetCommitRequest;
import dev.brook.proto.v1.OffsetCommitResponse;
import dev.brook.proto.v1.OffsetCommitTopic;
import dev.brook.proto.v1.OffsetFetchRequest;
import dev.brook.proto.v1.OffsetFetchResponse;
import dev.brook.proto.v1.OwnedPartitions;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.GroupPlacement;
import dev.brook.quorum.GroupStateClient;
import dev.brook.quorum.MetadataImage;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer group RPCs (group.proto) over the broker's {@link GroupCoordinator}: translation
 * and stream handling only. A heartbeat or commit for a group this broker does not coordinate by
 * its current image is answered NOT_COORDINATOR (and the quorum refuses the writes of a deposed
 * coordinator in any case).
 *
 * <p>Heartbeat streams: answers leave in request order (a queue of slots filled as the
 * coordinator answers); the assignment is included when it differs from the last one sent on the
 * stream, decided in that same order, so a member never sees an older assignment after a newer
 * one. When another member's change moves this member's assignment, the coordinator's push asks
 * the member to heartbeat at once ({@code pushed}).
 */
public final class GroupServiceImpl extends GroupServiceGrpc.GroupServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(GroupServiceImpl.class);

  private final GroupCoordinator coordinator;
  private final GroupStateClient groups;
  private final Supplier<MetadataImage> image;
  private final int nodeId;
  private final int heartbeatIntervalMs;
  private final LeaderHighWatermarks leaderHighWatermarks = new LeaderHighWatermarks();
  private final CommitOffsetCheck commitCheck;

  /**
   * @param image the broker's current metadata image, or null while it is starting
   * @param replicas this broker's replicas, whose log ends bound committed offsets
   */
  public GroupServiceImpl(GroupCoordinator coordinator, GroupStateClient groups, ReplicaManager replicas, int nodeId,
      long heartbeatIntervalMs) {
    this.coordinator = coordinator;
    this.groups = groups;
    this.image = replicas::image;
    this.nodeId = nodeId;
    this.heartbeatIntervalMs = (int) heartbeatIntervalMs;
    this.commitCheck = new CommitOffsetCheck(image, (t, p) -> CommitOffsetCheck.LocalReplica.of(replicas.partition(t, p)), nodeId,
        leaderHighWatermarks);
  }

  /** Closes the channels to other brokers that commit checks opened. */
  public void close() {
    leaderHighWatermarks.close();
  }

  @Override
  public void findCoordinator(FindCoordinatorRequest request, StreamObserver<FindCoordinatorResponse> out) {
    FindCoordinatorResponse.Builder r = FindCoordinatorResponse.newBuilder().setNodeId(-1);
    String invalid = GroupStateClient.invalidGroupId(request.getGroupId());
    MetadataImage current = image.get();
    if (invalid != null) {
      r.setError(Errors.of(ErrorCode.INVALID_GROUP_ID, invalid));
    } else if (current == null) {
      r.setError(Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, "broker " + nodeId + " has no cluster metadata yet"));
    } else {
      int c = GroupPlacement.coordinator(request.getGroupId(), current);
      BrokerImage b = c < 0 ? null : current.brokers().get(c);
      if (b == null) {
        r.setError(Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, "no broker is active to coordinate groups"));
      } else {
        r.setError(Errors.NONE).setNodeId(c).setAddress(b.address());
      }
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  /** Null when this broker coordinates {@code groupId} now, else the error to answer. */
  private Error notHere(String groupId) {
    String invalid = GroupStateClient.invalidGroupId(groupId);
    if (invalid != null) return Errors.of(ErrorCode.INVALID_GROUP_ID, invalid);
    MetadataImage current = image.get();
    if (current == null) return Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, "broker " + nodeId + " is starting");
    int c = GroupPlacement.coordinator(groupId, current);
    if (c == nodeId) return null;
    return Errors.of(ErrorCode.NOT_COORDINATOR, "broker " + nodeId + " is not the coordinator of group " + groupId
        + (c < 0 ? "; no broker is active" : "; broker " + c + " is"));
  }

  @Override
  public StreamObserver<ConsumerGroupHeartbeatRequest> consumerGroupHeartbeat(
      StreamObserver<ConsumerGroupHeartbeatResponse> responses) {
    return new HeartbeatStream((ServerCallStreamObserver<ConsumerGroupHeartbeatResponse>) responses, ClientAddress.current());
  }

  /** One member's stream. gRPC calls onNext/onCompleted one at a time; answers complete on any thread. */
  private final class HeartbeatStream implements StreamObserver<ConsumerGroupHeartbeatRequest> {
    private final ServerCallStreamObserver<ConsumerGroupHeartbeatResponse> out;
    private final String clientHost;
    // Guarded by this.
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    private SortedSet<TopicPartition> lastSent;
    private String groupId;
    private String memberId;
    private boolean halfClosed;
    private boolean done;

    /** One request's answer, sent once it and every earlier one are filled. */
    private final class Slot {
      Error error;
      GroupMember member;
      String requestMemberId;
      boolean filled;
    }

    HeartbeatStream(ServerCallStreamObserver<ConsumerGroupHeartbeatResponse> out, String clientHost) {
      this.out = out;
      this.clientHost = clientHost;
      out.setOnCancelHandler(this::finish);
    }

    @Override
    public void onNext(ConsumerGroupHeartbeatRequest request) {
      Slot slot = new Slot();
      slot.requestMemberId = request.getMemberId();
      synchronized (this) {
        if (done) return;
        slots.add(slot);
        if (groupId != null && !groupId.equals(request.getGroupId())) {
          fill(slot, Errors.of(ErrorCode.INVALID_REQUEST, "a heartbeat stream is for one group (" + groupId + ")"), null);
          return;
        }
      }
      Error refused = notHere(request.getGroupId());
      if (refused != null) {
        fill(slot, refused, null);
        return;
      }
      Heartbeat h = toHeartbeat(request, clientHost);
      coordinator.heartbeat(request.getGroupId(), h).whenComplete((o, e) -> {
        if (e != null) {
          ErrorCode code = GroupCoordinator.codeOf(e);
          fill(slot, Errors.of(code, e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), null);
        } else {
          onOutcome(request, o, slot);
        }
      });
    }

    private void onOutcome(ConsumerGroupHeartbeatRequest request, Outcome o, Slot slot) {
      if (o.error() != ErrorCode.NONE) {
        fill(slot, Errors.of(o.error(), o.message()), null);
        return;
      }
      boolean leaving = request.getMemberEpoch() == ConsumerGroup.LEAVE_EPOCH
          || request.getMemberEpoch() == ConsumerGroup.STATIC_LEAVE_EPOCH;
      synchronized (this) {
        if (!leaving && memberId == null && !done) {
          groupId = request.getGroupId();
          memberId = request.getMemberId();
          coordinator.registerStream(groupId, memberId, m -> nudge());
        }
      }
      fill(slot, Errors.NONE, o.member());
    }

    private void fill(Slot slot, Error error, GroupMember member) {
      boolean closed;
      synchronized (this) {
        slot.error = error;
        slot.member = member;
        slot.filled = true;
        while (!slots.isEmpty() && slots.peek().filled) {
          ConsumerGroupHeartbeatResponse r = answer(slots.poll());
          if (!done) send(r);
        }
        closed = closeIfDrained();
      }
      if (closed) unregister();
    }

    /** Caller holds this: builds the answer in send order (the assignment vs. the last one sent). */
    private ConsumerGroupHeartbeatResponse answer(Slot s) {
      ConsumerGroupHeartbeatResponse.Builder r = ConsumerGroupHeartbeatResponse.newBuilder().setError(s.error)
          .setMemberId(s.requestMemberId).setHeartbeatIntervalMs(heartbeatIntervalMs);
      if (s.member != null) {
        r.setMemberEpoch(s.member.memberEpoch());
        if (!s.member.assigned().equals(lastSent)) {
          r.setAssignment(toOwned(s.member.assigned()));
          lastSent = new TreeSet<>(s.member.assigned());
        }
      } else if (s.error.getCode() != ErrorCode.NONE) {
        // After a fencing the member rejoins: its next assignment is sent in full.
        if (s.error.getCode() == ErrorCode.FENCED_MEMBER_EPOCH || s.error.getCode() == ErrorCode.UNKNOWN_MEMBER_ID) lastSent = null;
      }
      return r.build();
    }

    private void nudge() {
      synchronized (this) {
        if (!done) send(ConsumerGroupHeartbeatResponse.newBuilder().setError(Errors.NONE).setPushed(true).build());
      }
    }

    /** Caller holds this. */
    private void send(ConsumerGroupHeartbeatResponse r) {
      try {
        out.onNext(r);
      } catch (RuntimeException e) {
        LOG.debug("heartbeat stream of {} in group {} is gone: {}", memberId, groupId, e.toString());
        done = true;
      }
    }

    @Override
    public void onError(Throwable t) {
      finish();
    }

    @Override
    public void onCompleted() {
      boolean now;
      synchronized (this) {
        // Answers still pending are sent first (the last one may be the leave's).
        halfClosed = true;
        now = closeIfDrained();
      }
      if (now) unregister();
    }

    /** Caller holds this: ends the stream once the client half-closed and every answer is sent. */
    private boolean closeIfDrained() {
      if (done || !halfClosed || !slots.isEmpty()) return false;
      done = true;
      try {
        out.onCompleted();
      } catch (RuntimeException e) {
        LOG.debug("heartbeat stream of {} in group {} is gone: {}", memberId, groupId, e.toString());
      }
      return true;
    }

    private void finish() {
      synchronized (this) {
        done = true;
        slots.clear();
      }
      unregister();
    }

    private void unregister() {
      String g;
      String m;
      synchronized (this) {
        g = groupId;
        m = memberId;
      }
      if (g != null && m != null) coordinator.unregisterStream(g, m);
    }
  }

  static Heartbeat toHeartbeat(ConsumerGroupHeartbeatRequest r, String clientHost) {
    Set<String> topics = r.hasSubscription() ? new TreeSet<>(r.getSubscription().getTopicsList()) : null;
    Set<TopicPartition> owned = r.hasOwnedPartitions() ? fromOwned(r.getOwnedPartitions()) : null;
    return new Heartbeat(r.getMemberId(), r.getMemberEpoch(), r.hasInstanceId() ? r.getInstanceId() : null,
        r.getClientId(), clientHost, topics, r.hasServerAssignor() ? r.getServerAssignor() : null, r.getRebalanceTimeoutMs(),
        owned);
  }

  static OwnedPartitions toOwned(Set<TopicPartition> tps) {
    Map<String, GroupTopicPartitions.Builder> byTopic = new TreeMap<>();
    for (TopicPartition tp : new TreeSet<>(tps)) {
      byTopic.computeIfAbsent(tp.topic(), t -> GroupTopicPartitions.newBuilder().setTopic(t)).addPartitions(tp.partition());
    }
    OwnedPartitions.Builder b = OwnedPartitions.newBuilder();
    byTopic.values().forEach(b::addTopics);
    return b.build();
  }

  static Set<TopicPartition> fromOwned(OwnedPartitions owned) {
    Set<TopicPartition> out = new HashSet<>();
    for (GroupTopicPartitions t : owned.getTopicsList()) {
      for (int p : t.getPartitionsList()) {
        if (p >= 0) out.add(new TopicPartition(t.getTopic(), p));
      }
    }
    return out;
  }

  @Override
  public void offsetCommit(OffsetCommitRequest request, StreamObserver<OffsetCommitResponse> out) {
    Error refused = notHere(request.getGroupId());
    if (refused != null) {
      reply(out, OffsetCommitResponse.newBuilder().setError(refused).build());
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (OffsetCommitTopic t : request.getTopicsList()) {
      for (OffsetCommitPartition p : t.getPartitionsList()) {
        if (p.getPartition() < 0) {
          reply(out, OffsetCommitResponse.newBuilder().setError(Errors.of(ErrorCode.INVALID_REQUEST,
              "partition " + p.getPartition() + " of " + t.getTopic() + " is negative")).build());
          return;
        }
        offsets.put(new TopicPartition(t.getTopic(), p.getPartition()),
            new OffsetAndMetadata(p.getOffset(), p.getLeaderEpoch(), p.getMetadata(), 0));
      }
    }
    commit(request, offsets).whenComplete((error, e) -> reply(out, OffsetCommitResponse.newBuilder()
        .setError(e == null ? error : Errors.of(ErrorCode.UNKNOWN_SERVER_ERROR, String.valueOf(e))).build()));
  }

  /** The offsets' partitions exist and the offsets lie within their logs (see {@link CommitOffsetCheck}). */
  private CompletableFuture<Void> checkPositions(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<TopicPartition, Long> positions = new HashMap<>();
    offsets.forEach((tp, o) -> positions.put(tp, o.offset()));
    return commitCheck.check(positions).thenAccept(bad -> {
      if (bad != null) throw new GroupCallException(bad.getCode(), bad.getMessage(), null);
    });
  }

  private CompletableFuture<Error> commit(OffsetCommitRequest request, Map<TopicPartition, OffsetAndMetadata> offsets) {
    return coordinator.commitOffsets(request.getGroupId(), request.getMemberId(), request.getMemberEpoch(), offsets,
        this::checkPositions)
        .handle((code, e) -> {
          Error error;
          if (e != null) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            error = Errors.of(GroupCoordinator.codeOf(e), String.valueOf(c.getMessage()));
          } else {
            error = code == ErrorCode.NONE ? Errors.NONE : Errors.of(code, commitRefusal(code, request));
          }
          return error;
        });
  }

  private static String commitRefusal(ErrorCode code, OffsetCommitRequest r) {
    return switch (code) {
      case INVALID_REQUEST -> "an offset is negative or its metadata longer than " + OffsetAndMetadata.MAX_METADATA_LENGTH
          + " characters";
      case PARTITION_NOT_OWNED -> "member " + r.getMemberId() + " does not own every partition it commits";
      case UNKNOWN_MEMBER_ID -> r.getMemberId().isEmpty() ? "group " + r.getGroupId() + " has members: commit as one of them"
          : "group " + r.getGroupId() + " has no member " + r.getMemberId();
      case STALE_MEMBER_EPOCH -> "member epoch " + r.getMemberEpoch() + " is old: heartbeat, then commit with the new one";
      case FENCED_MEMBER_EPOCH -> "member epoch " + r.getMemberEpoch() + " is fenced: rejoin the group";
      default -> code.name();
    };
  }

  @Override
  public void offsetFetch(OffsetFetchRequest request, StreamObserver<OffsetFetchResponse> out) {
    String invalid = GroupStateClient.invalidGroupId(request.getGroupId());
    if (invalid != null) {
      reply(out, OffsetFetchResponse.newBuilder().setError(Errors.of(ErrorCode.INVALID_GROUP_ID, invalid)).build());
      return;
    }
    Set<TopicPartition> wanted = new HashSet<>();
    for (GroupTopicPartitions t : request.getTopicsList()) {
      for (int p : t.getPartitionsList()) {
        if (p >= 0) wanted.add(new TopicPartition(t.getTopic(), p));
      }
    }
    coordinator.fetchOffsets(request.getGroupId(), wanted).whenComplete((offsets, e) -> {
      OffsetFetchResponse.Builder r = OffsetFetchResponse.newBuilder();
      if (e != null) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        r.setError(Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, String.valueOf(c.getMessage())));
      } else {
        r.setError(Errors.NONE);
        new TreeMap<>(offsets).forEach((tp, o) -> r.addOffsets(CommittedPartitionOffset.newBuilder().setTopic(tp.topic())
            .setPartition(tp.partition()).setOffset(o.offset()).setLeaderEpoch(o.leaderEpoch()).setMetadata(o.metadata())
            .setCommitTimestampMs(o.commitTimestampMs())));
      }
      reply(out, r.build());
    });
  }

  @Override
  public void listGroups(ListGroupsRequest request, StreamObserver<ListGroupsResponse> out) {
    groups.listGroups().whenComplete((list, e) -> {
      ListGroupsResponse.Builder r = ListGroupsResponse.newBuilder();
      if (e != null) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        r.setError(Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, "cannot list groups: " + c.getMessage()));
      } else {
        r.setError(Errors.NONE);
        for (GroupStateClient.GroupSummary g : list) {
          r.addGroups(ListedGroup.newBuilder().setGroupId(g.groupId()).setMemberCount(g.memberCount()));
        }
      }
      reply(out, r.build());
    });
  }

  @Override
  public void describeGroups(DescribeGroupsRequest request, StreamObserver<DescribeGroupsResponse> out) {
    List<CompletableFuture<DescribedGroup>> all = new ArrayList<>();
    for (String id : request.getGroupIdsList()) all.add(describe(id));
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
      DescribeGroupsResponse.Builder r = DescribeGroupsResponse.newBuilder();
      all.forEach(f -> r.addGroups(f.join()));
      reply(out, r.build());
    });
  }

  private CompletableFuture<DescribedGroup> describe(String groupId) {
    DescribedGroup.Builder d = DescribedGroup.newBuilder().setGroupId(groupId).setCoordinatorId(-1);
    String invalid = GroupStateClient.invalidGroupId(groupId);
    if (invalid != null) return CompletableFuture.completedFuture(d.setError(Errors.of(ErrorCode.INVALID_GROUP_ID, invalid)).build());
    MetadataImage current = image.get();
    if (current != null) {
      int c = GroupPlacement.coordinator(groupId, current);
      BrokerImage b = c < 0 ? null : current.brokers().get(c);
      if (b != null) d.setCoordinatorId(c).setCoordinatorAddress(b.address());
    }
    return coordinator.describe(groupId).handle((g, e) -> {
      if (e != null) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        return d.setError(Errors.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, "cannot read group " + groupId + ": " + c.getMessage()))
            .build();
      }
      if (g == null) return d.setError(Errors.of(ErrorCode.GROUP_ID_NOT_FOUND, "group " + groupId + " does not exist")).build();
      d.setError(Errors.NONE).setState(g.state()).setGroupEpoch(g.groupEpoch()).setAssignmentEpoch(g.assignmentEpoch());
      Map<String, Set<TopicPartition>> target = g.targetAssignment();
      for (GroupMember m : g.members().values()) {
        DescribedMember.Builder dm = DescribedMember.newBuilder().setMemberId(m.memberId()).setClientId(m.clientId())
            .setClientHost(m.clientHost()).addAllSubscribedTopics(m.subscribedTopics()).setMemberEpoch(m.memberEpoch())
            .setState(m.state().name()).setAssigned(toOwned(m.assigned())).setPendingRevocation(toOwned(m.pendingRevocation()))
            .setTarget(toOwned(target.getOrDefault(m.memberId(), Set.of())));
        if (m.instanceId() != null) dm.setInstanceId(m.instanceId());
        if (m.assignor() != null) dm.setServerAssignor(m.assignor());
        d.addMembers(dm);
      }
      return d.build();
    });
  }

  @Override
  public void deleteGroups(DeleteGroupsRequest request, StreamObserver<DeleteGroupsResponse> out) {
    List<CompletableFuture<DeletedGroup>> all = new ArrayList<>();
    for (String id : request.getGroupIdsList()) {
      Error refused = notHere(id);
      if (refused != null) {
        all.add(CompletableFuture.completedFuture(DeletedGroup.newBuilder().setGroupId(id).setError(refused).build()));
        continue;
      }
      all.add(coordinator.delete(id).handle((code, e) -> {
        ErrorCode c = e != null ? GroupCoordinator.codeOf(e) : code;
        String message = switch (c) {
          case NONE -> "";
          case NON_EMPTY_GROUP -> "group " + id + " has members; stop them first";
          case GROUP_ID_NOT_FOUND -> "group " + id + " does not exist";
          default -> e != null && e.getCause() != null ? e.getCause().getMessage() : c.name();
        };
        return DeletedGroup.newBuilder().setGroupId(id).setError(c == ErrorCode.NONE ? Errors.NONE : Errors.of(c, message)).build();
      }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
      DeleteGroupsResponse.Builder r = DeleteGroupsResponse.newBuilder();
      all.forEach(f -> r.addGroups(f.join()));
      reply(out, r.build());
    });
  }

  private static <T> void reply(StreamObserver<T> out, T response) {
    out.onNext(response);
    out.onCompleted();
  }
}
