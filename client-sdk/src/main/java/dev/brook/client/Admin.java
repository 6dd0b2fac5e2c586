package dev.brook.client;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.CommittedPartitionOffset;
import dev.brook.proto.v1.ConfigEntry;
import dev.brook.proto.v1.DeleteGroupsRequest;
import dev.brook.proto.v1.DeletedGroup;
import dev.brook.proto.v1.DescribeGroupsRequest;
import dev.brook.proto.v1.DescribedGroup;
import dev.brook.proto.v1.DescribedMember;
import dev.brook.proto.v1.FindCoordinatorRequest;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.ListGroupsRequest;
import dev.brook.proto.v1.ListedGroup;
import dev.brook.proto.v1.OffsetFetchRequest;
import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.DeleteTopicResult;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DescribeClusterRequest;
import dev.brook.proto.v1.DescribeClusterResponse;
import dev.brook.proto.v1.DescribeTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.ListTopicsRequest;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.QuorumVoter;
import dev.brook.proto.v1.TopicMetadata;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Topic and cluster administration over the AdminService, like Kafka's Admin client. Every call
 * is asynchronous, goes to any broker (the bootstrap addresses in turn until one answers) with a
 * deadline, and fails with a {@link BrookException}. Thread-safe.
 */
public final class Admin implements AutoCloseable {
  private static final long DEFAULT_TIMEOUT_MS = 30_000;

  private final List<String> servers;
  private final ChannelPool channels;
  private final long timeoutMs;
  /** Group id to its coordinator's address, as last found. */
  private final java.util.concurrent.ConcurrentMap<String, String> coordinators = new java.util.concurrent.ConcurrentHashMap<>();

  private Admin(List<String> servers, ChannelFactory factory, long timeoutMs) {
    this.servers = ClientConfigs.checkServers(servers);
    this.channels = new ChannelPool(factory, 1 << 20, 64 << 20);
    this.timeoutMs = timeoutMs;
  }

  /** An admin client for "host:port[,host:port...]". */
  public static Admin create(String bootstrapServers) {
    return new Admin(ClientConfigs.parseServers(bootstrapServers), null, DEFAULT_TIMEOUT_MS);
  }

  public static Admin create(List<String> bootstrapServers) {
    return new Admin(bootstrapServers, null, DEFAULT_TIMEOUT_MS);
  }

  static Admin create(List<String> bootstrapServers, ChannelFactory factory, long timeoutMs) {
    return new Admin(bootstrapServers, factory, timeoutMs);
  }

  /** Creates topics; each topic's future fails on its own (e.g. TOPIC_ALREADY_EXISTS). */
  public CreateTopicsResult createTopics(List<NewTopic> topics) {
    return createTopics(topics, false);
  }

  /** With {@code validateOnly}, the cluster checks the topics as if creating them and creates nothing. */
  public CreateTopicsResult createTopics(List<NewTopic> topics, boolean validateOnly) {
    CreateTopicsRequest.Builder req = CreateTopicsRequest.newBuilder().setValidateOnly(validateOnly);
    Map<String, CompletableFuture<Void>> futures = new LinkedHashMap<>();
    for (NewTopic t : topics) {
      dev.brook.proto.v1.NewTopic.Builder nt = dev.brook.proto.v1.NewTopic.newBuilder().setName(t.name())
          .putAllConfigs(t.configs());
      // Unset (null) asks for the cluster default; a given value, 0 included, is sent as is.
      if (t.partitions() != null) nt.setPartitions(t.partitions());
      if (t.replicationFactor() != null) nt.setReplicationFactor(t.replicationFactor());
      req.addTopics(nt);
      futures.put(t.name(), new CompletableFuture<>());
    }
    call(stub -> stub.createTopics(req.build())).whenComplete((resp, err) -> {
      if (err != null) {
        futures.values().forEach(f -> f.completeExceptionally(err));
        return;
      }
      for (CreateTopicResult r : resp.getTopicsList()) {
        CompletableFuture<Void> f = futures.get(r.getName());
        if (f == null) continue;
        if (r.getError().getCode() == ErrorCode.NONE) f.complete(null);
        else f.completeExceptionally(BrookException.of(r.getError(), "create topic '" + r.getName() + "'"));
      }
      missing(futures, "create");
    });
    return new CreateTopicsResult(futures);
  }

  /** Deletes topics; each topic's future fails on its own (e.g. UNKNOWN_TOPIC_OR_PARTITION). */
  public DeleteTopicsResult deleteTopics(Collection<String> names) {
    Map<String, CompletableFuture<Void>> futures = new LinkedHashMap<>();
    for (String n : names) futures.put(n, new CompletableFuture<>());
    call(stub -> stub.deleteTopics(DeleteTopicsRequest.newBuilder().addAllNames(names).build())).whenComplete((resp, err) -> {
      if (err != null) {
        futures.values().forEach(f -> f.completeExceptionally(err));
        return;
      }
      for (DeleteTopicResult r : resp.getTopicsList()) {
        CompletableFuture<Void> f = futures.get(r.getName());
        if (f == null) continue;
        if (r.getError().getCode() == ErrorCode.NONE) f.complete(null);
        else f.completeExceptionally(BrookException.of(r.getError(), "delete topic '" + r.getName() + "'"));
      }
      missing(futures, "delete");
    });
    return new DeleteTopicsResult(futures);
  }

  private static void missing(Map<String, CompletableFuture<Void>> futures, String what) {
    futures.forEach((name, f) -> f.completeExceptionally(new BrookException(ErrorCode.UNKNOWN_SERVER_ERROR,
        "the broker did not answer for " + what + " of topic '" + name + "'")));
  }

  /** Topic names, sorted. */
  public CompletableFuture<Set<String>> listTopics() {
    return call(stub -> stub.listTopics(ListTopicsRequest.getDefaultInstance()))
        .thenApply(r -> (Set<String>) new LinkedHashSet<>(r.getNamesList()));
  }

  /**
   * Describes topics (all when {@code names} is empty). Fails with UNKNOWN_TOPIC_OR_PARTITION
   * (or the topic's error) when a named topic cannot be described.
   */
  public CompletableFuture<Map<String, TopicDescription>> describeTopics(Collection<String> names) {
    CompletableFuture<Map<Integer, String>> brokers = describeCluster().thenApply(c -> {
      Map<Integer, String> m = new HashMap<>();
      c.brokers().forEach(b -> m.put(b.id(), b.address()));
      return m;
    }).exceptionally(e -> Map.of());
    return call(stub -> stub.describeTopics(DescribeTopicsRequest.newBuilder().addAllNames(names).build()))
        .thenCombine(brokers, (resp, addresses) -> {
          Map<String, TopicDescription> out = new LinkedHashMap<>();
          for (dev.brook.proto.v1.TopicDescription d : resp.getTopicsList()) {
            TopicMetadata tm = d.getMetadata();
            if (tm.getError().getCode() != ErrorCode.NONE) {
              throw BrookException.of(tm.getError(), "describe topic '" + tm.getName() + "'");
            }
            List<PartitionInfo> parts = new ArrayList<>();
            for (PartitionMetadata pm : tm.getPartitionsList()) {
              parts.add(new PartitionInfo(tm.getName(), pm.getPartition(), pm.getLeaderId(),
                  addresses.get(pm.getLeaderId()), pm.getLeaderEpoch(), pm.getReplicasList(), pm.getIsrList(),
                  pm.getEligibleLeaderReplicasList()));
            }
            Map<String, String> configs = new LinkedHashMap<>();
            Map<String, String> overrides = new LinkedHashMap<>();
            for (ConfigEntry c : d.getConfigsList()) {
              configs.put(c.getName(), c.getValue());
              if (!c.getIsDefault()) overrides.put(c.getName(), c.getValue());
            }
            out.put(tm.getName(), new TopicDescription(tm.getName(), tm.getTopicId(), List.copyOf(parts),
                java.util.Collections.unmodifiableMap(configs), java.util.Collections.unmodifiableMap(overrides)));
          }
          for (String n : names) {
            if (!out.containsKey(n)) {
              throw new BrookException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic '" + n + "' does not exist");
            }
          }
          return out;
        });
  }

  /** The cluster id, brokers and metadata quorum. */
  /**
   * Moves leadership of the given partitions (every partition when {@code partitions} is empty;
   * every partition of a topic when its list is empty) back to their preferred replica. Completes
   * with one result per partition; ELECTION_NOT_NEEDED and PREFERRED_LEADER_NOT_AVAILABLE are
   * results, not failures.
   */
  public CompletableFuture<List<ElectionResult>> electLeaders(Map<String, List<Integer>> partitions) {
    dev.brook.proto.v1.ElectLeadersRequest.Builder req = dev.brook.proto.v1.ElectLeadersRequest.newBuilder();
    partitions.forEach((topic, ps) -> req.addPartitions(
        dev.brook.proto.v1.TopicPartitions.newBuilder().setTopic(topic).addAllPartitions(ps)));
    return call(stub -> stub.electLeaders(req.build())).thenApply(r -> {
      List<ElectionResult> out = new ArrayList<>();
      for (dev.brook.proto.v1.ElectLeaderResult e : r.getResultsList()) {
        out.add(new ElectionResult(new TopicPartition(e.getTopic(), e.getPartition()), e.getError().getCode(),
            e.getError().getMessage(), e.getLeaderId(), e.getLeaderEpoch()));
      }
      return out;
    });
  }

  public CompletableFuture<ClusterDescription> describeCluster() {
    return call(stub -> stub.describeCluster(DescribeClusterRequest.getDefaultInstance())).thenApply(Admin::toCluster);
  }

  private static ClusterDescription toCluster(DescribeClusterResponse r) {
    List<BrokerNode> brokers = new ArrayList<>();
    for (BrokerMetadata b : r.getBrokersList()) {
      brokers.add(new BrokerNode(b.getNodeId(), b.getAddress(), b.getRack(), b.getFenced(), b.getBrokerEpoch(),
          b.getShuttingDown(), b.getLastHeartbeatAgeMs()));
    }
    Map<Integer, String> voters = new LinkedHashMap<>();
    for (QuorumVoter v : r.getQuorum().getVotersList()) voters.put(v.getNodeId(), v.getAddress());
    return new ClusterDescription(r.getClusterId(), List.copyOf(brokers), java.util.Collections.unmodifiableMap(voters),
        r.getQuorum().getLeaderId(), r.getQuorum().getTerm(), r.getQuorum().getCommitIndex(),
        r.getQuorum().getAppliedIndex());
  }

  /** Runs a unary call on the first address that answers (UNAVAILABLE moves on to the next). */
  private <T> CompletableFuture<T> call(Function<AdminServiceGrpc.AdminServiceFutureStub, ListenableFuture<T>> rpc) {
    return callAny(servers, channel -> rpc.apply(AdminServiceGrpc.newFutureStub(channel)
        .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)));
  }

  /** A GroupService call on the first of {@code addresses} that answers. */
  private <T> CompletableFuture<T> groupCall(List<String> addresses,
      Function<GroupServiceGrpc.GroupServiceFutureStub, ListenableFuture<T>> rpc) {
    return callAny(addresses, channel -> rpc.apply(GroupServiceGrpc.newFutureStub(channel)
        .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)));
  }

  private <T> CompletableFuture<T> callAny(List<String> addresses, Function<ManagedChannel, ListenableFuture<T>> rpc) {
    CompletableFuture<T> result = new CompletableFuture<>();
    attempt(addresses, rpc, 0, result, null);
    return result;
  }

  private <T> void attempt(List<String> servers, Function<ManagedChannel, ListenableFuture<T>> rpc, int index,
      CompletableFuture<T> result, Throwable last) {
    if (index >= servers.size()) {
      Status s = last == null ? Status.UNAVAILABLE : Status.fromThrowable(last);
      result.completeExceptionally(BrookException.transport("cannot reach any bootstrap server ("
          + String.join(",", servers) + "): " + (last == null ? "UNAVAILABLE" : BrookException.transportReason(last)), last,
          s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.DEADLINE_EXCEEDED));
      return;
    }
    ListenableFuture<T> f;
    try {
      f = rpc.apply(channels.get(servers.get(index)));
    } catch (RuntimeException e) {
      attempt(servers, rpc, index + 1, result, e);
      return;
    }
    Futures.addCallback(f, new FutureCallback<T>() {
      @Override
      public void onSuccess(T value) {
        result.complete(value);
      }

      @Override
      public void onFailure(Throwable t) {
        if (Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE) {
          attempt(servers, rpc, index + 1, result, t);
        } else {
          Status s = Status.fromThrowable(t);
          String message = s.getCode() == Status.Code.DEADLINE_EXCEEDED
              ? "broker " + servers.get(index) + " did not answer within " + timeoutMs + " ms"
              : s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
          result.completeExceptionally(BrookException.transport(message, t, false));
        }
      }
    }, MoreExecutors.directExecutor());
  }

  // ------------------------------------------------------------------ consumer groups

  /** Every group the cluster knows (with members, or with committed offsets), sorted by id. */
  public CompletableFuture<List<GroupDescription.Listing>> listGroups() {
    return groupCall(servers, stub -> stub.listGroups(ListGroupsRequest.getDefaultInstance())).thenApply(r -> {
      if (r.getError().getCode() != ErrorCode.NONE) throw BrookException.of(r.getError(), "list groups");
      List<GroupDescription.Listing> out = new ArrayList<>();
      for (ListedGroup g : r.getGroupsList()) out.add(new GroupDescription.Listing(g.getGroupId(), g.getMemberCount()));
      return out;
    });
  }

  /** The group's state and members; fails with GROUP_ID_NOT_FOUND for a group without durable state. */
  public CompletableFuture<GroupDescription> describeGroup(String groupId) {
    return groupCall(servers, stub -> stub.describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds(groupId).build()))
        .thenApply(r -> {
          DescribedGroup g = r.getGroups(0);
          if (g.getError().getCode() != ErrorCode.NONE) throw BrookException.of(g.getError(), "describe group " + groupId);
          List<GroupDescription.Member> members = new ArrayList<>();
          for (DescribedMember m : g.getMembersList()) {
            members.add(new GroupDescription.Member(m.getMemberId(), m.hasInstanceId() ? m.getInstanceId() : null,
                m.getClientId(), m.getClientHost(), Set.copyOf(m.getSubscribedTopicsList()), m.getMemberEpoch(), m.getState(),
                GroupMembership.fromOwned(m.getAssigned()), GroupMembership.fromOwned(m.getPendingRevocation()),
                GroupMembership.fromOwned(m.getTarget())));
          }
          return new GroupDescription(g.getGroupId(), g.getState(), g.getGroupEpoch(), g.getAssignmentEpoch(),
              g.getCoordinatorId(), g.getCoordinatorAddress(), members);
        });
  }

  /** The group's committed offsets (every partition it has one for). */
  public CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> listGroupOffsets(String groupId) {
    return groupCall(servers, stub -> stub.offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(groupId).build()))
        .thenApply(r -> {
          if (r.getError().getCode() != ErrorCode.NONE) throw BrookException.of(r.getError(), "offsets of group " + groupId);
          Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
          for (CommittedPartitionOffset o : r.getOffsetsList()) {
            out.put(new TopicPartition(o.getTopic(), o.getPartition()),
                new OffsetAndMetadata(o.getOffset(), o.getLeaderEpoch(), o.getMetadata()));
          }
          return out;
        });
  }

  /**
   * Sets the group's committed offsets (a reset, or a consumer that tracks its own positions);
   * refused with UNKNOWN_MEMBER_ID while the group has members. The group's coordinator is
   * looked up once and remembered until it answers NOT_COORDINATOR.
   */
  public CompletableFuture<Void> alterGroupOffsets(String groupId, Map<TopicPartition, OffsetAndMetadata> offsets) {
    return alterGroupOffsets(groupId, offsets, true);
  }

  private CompletableFuture<Void> alterGroupOffsets(String groupId, Map<TopicPartition, OffsetAndMetadata> offsets,
      boolean retryElsewhere) {
    String known = coordinators.get(groupId);
    CompletableFuture<String> address = known != null ? CompletableFuture.completedFuture(known) : coordinator(groupId);
    return address.thenCompose(a -> {
      coordinators.put(groupId, a);
      return groupCall(List.of(a), stub -> stub.offsetCommit(GroupOffsets.request(groupId, "", -1, offsets)));
    }).thenCompose(r -> {
      ErrorCode code = r.getError().getCode();
      if ((code == ErrorCode.NOT_COORDINATOR || code == ErrorCode.COORDINATOR_NOT_AVAILABLE) && retryElsewhere) {
        coordinators.remove(groupId);
        return alterGroupOffsets(groupId, offsets, false);
      }
      if (code == ErrorCode.UNKNOWN_MEMBER_ID) {
        throw new BrookException(code, "group " + groupId + " has active members: stop them before resetting its offsets");
      }
      if (code != ErrorCode.NONE) throw BrookException.of(r.getError(), "set offsets of group " + groupId);
      return CompletableFuture.completedFuture(null);
    });
  }

  /** Deletes a group without members, and its committed offsets. */
  public CompletableFuture<Void> deleteGroup(String groupId) {
    return coordinator(groupId).thenCompose(address -> groupCall(List.of(address),
        stub -> stub.deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds(groupId).build()))).thenApply(r -> {
          DeletedGroup d = r.getGroups(0);
          if (d.getError().getCode() != ErrorCode.NONE) throw BrookException.of(d.getError(), "delete group " + groupId);
          return null;
        });
  }

  /** The address of the group's coordinator. */
  private CompletableFuture<String> coordinator(String groupId) {
    return groupCall(servers, stub -> stub.findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(groupId).build()))
        .thenApply(r -> {
          if (r.getError().getCode() != ErrorCode.NONE) throw BrookException.of(r.getError(), "coordinator of group " + groupId);
          return r.getAddress();
        });
  }

  @Override
  public void close() {
    channels.close();
  }
}
