package dev.brook.client;

import dev.brook.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.brook.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FindCoordinatorRequest;
import dev.brook.proto.v1.FindCoordinatorResponse;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.GroupTopicPartitions;
import dev.brook.proto.v1.OwnedPartitions;
import dev.brook.proto.v1.Subscription;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer's membership in its group (group.proto's member life): finds the coordinator, keeps
 * one heartbeat stream to it, heartbeats on its own timer thread (so a consumer whose
 * application is busy between polls stays in the group, up to max.poll.interval.ms), and keeps
 * the latest assignment the coordinator sent. The consumer's thread reads the assignment at each
 * poll, releases and takes partitions, and reports what it owns ({@link #owned}), which the next
 * heartbeat (sent at once) carries.
 *
 * <p>On NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a broken stream it finds the coordinator
 * again and resumes with the same member id and epoch. On FENCED_MEMBER_EPOCH or
 * UNKNOWN_MEMBER_ID the partitions are lost: the assignment becomes empty, {@link
 * Snapshot#lostCount} moves on, and it joins again. When the application does not poll within
 * the rebalance timeout (max.poll.interval.ms) it leaves the group, as Kafka's consumer does, and
 * joins again at the next poll.
 *
 * <p>Threading: all state is guarded by {@code this}; the timer thread and gRPC callbacks run
 * the protocol; the consumer thread only reads snapshots and reports ownership.
 */
final class GroupMembership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupMembership.class);
  private static final int LEAVE_EPOCH = -1;
  private static final int STATIC_LEAVE_EPOCH = -2;
  /** The heartbeat interval until the coordinator says otherwise. */
  private static final long DEFAULT_INTERVAL_MS = 3000;

  /** What the consumer thread sees. */
  record Snapshot(int memberEpoch, Set<TopicPartition> assignment, long lostCount, BrookException fatal,
      String coordinator) {}

  private final String groupId;
  private final String memberId;
  private final String instanceId;
  private final String clientId;
  private final String assignor;
  private final int rebalanceTimeoutMs;
  private final Metadata metadata;
  private final ChannelPool channels;
  private final long requestTimeoutMs;
  private final long retryBackoffMs;
  private final Runnable wakeConsumer;
  private final ScheduledExecutorService timer;

  // Guarded by this.
  private Set<String> subscription = Set.of();
  private boolean subscriptionSent;
  private int epoch;
  private Set<TopicPartition> assignment = Set.of();
  private long lostCount;
  private Set<TopicPartition> owned = Set.of();
  private boolean ownedSent;
  private String coordinator;
  private StreamObserver<ConsumerGroupHeartbeatRequest> stream;
  private ClientCallStreamObserver<ConsumerGroupHeartbeatRequest> call;
  private boolean inFlight;
  private boolean heartbeatWanted;
  private long intervalMs = DEFAULT_INTERVAL_MS;
  private ScheduledFuture<?> next;
  private long lastPollMs;
  private boolean leftForPollTimeout;
  private BrookException fatal;
  private boolean discovering;
  private boolean closed;

  GroupMembership(String groupId, String memberId, String instanceId, String clientId, String assignor,
      int rebalanceTimeoutMs, Metadata metadata, ChannelPool channels, long requestTimeoutMs, long retryBackoffMs,
      Runnable wakeConsumer) {
    this.groupId = groupId;
    this.memberId = memberId;
    this.instanceId = instanceId;
    this.clientId = clientId;
    this.assignor = assignor;
    this.rebalanceTimeoutMs = rebalanceTimeoutMs;
    this.metadata = metadata;
    this.channels = channels;
    this.requestTimeoutMs = requestTimeoutMs;
    this.retryBackoffMs = retryBackoffMs;
    this.wakeConsumer = wakeConsumer;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "brook-group-" + groupId + "-" + clientId);
      t.setDaemon(true);
      return t;
    });
    this.lastPollMs = System.currentTimeMillis();
  }

  String memberId() {
    return memberId;
  }

  /** Subscribes to {@code topics} (replacing the previous subscription); joins on first use. */
  synchronized void subscribe(Set<String> topics) {
    if (topics.equals(subscription) && subscriptionSent) return;
    subscription = Set.copyOf(topics);
    subscriptionSent = false;
    if (stream == null) {
      requestDiscovery(0);
    } else {
      heartbeatSoon();
    }
  }

  synchronized Snapshot snapshot() {
    return new Snapshot(epoch, assignment, lostCount, fatal, coordinator);
  }

  /** The consumer thread polled: the member is alive (and joins again after a poll timeout). */
  synchronized void polled() {
    lastPollMs = System.currentTimeMillis();
    if (leftForPollTimeout) {
      leftForPollTimeout = false;
      epoch = 0;
      subscriptionSent = false;
      ownedSent = false;
      heartbeatSoon();
    }
  }

  /** What the consumer holds now; reported by the next heartbeat, sent at once when it changed. */
  synchronized void owned(Set<TopicPartition> partitions) {
    if (partitions.equals(owned)) return;
    owned = Set.copyOf(partitions);
    ownedSent = false;
    heartbeatSoon();
  }

  /** Asks for a heartbeat now (e.g. to learn a new epoch after STALE_MEMBER_EPOCH). */
  synchronized void heartbeatSoon() {
    if (closed) return;
    heartbeatWanted = true;
    timer.execute(this::beat);
  }

  // ------------------------------------------------------------------ protocol (timer thread)

  /** Caller holds this: one discovery at a time (it retries itself until a stream is open). */
  private void requestDiscovery(long delayMs) {
    if (discovering || closed || stream != null) return;
    discovering = true;
    later(this::discover, delayMs);
  }

  /** Finds the coordinator through any broker and opens a stream to it. */
  private void discover() {
    synchronized (this) {
      if (closed || stream != null) {
        discovering = false;
        return;
      }
    }
    FindCoordinatorResponse found = null;
    RuntimeException last = null;
    for (String address : metadata.addresses()) {
      try {
        found = GroupServiceGrpc.newBlockingStub(channels.get(address)).withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS)
            .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(groupId).build());
        break;
      } catch (RuntimeException e) {
        last = e;
      }
    }
    synchronized (this) {
      if (closed) return;
      if (found == null || found.getError().getCode() != ErrorCode.NONE) {
        if (found != null && found.getError().getCode() == ErrorCode.INVALID_GROUP_ID) {
          fatal = BrookException.of(found.getError(), "group " + groupId);
          discovering = false;
          wakeConsumer.run();
          return;
        }
        log.debug("group {}: no coordinator yet ({}); retrying", groupId,
            found != null ? found.getError().getMessage() : String.valueOf(last));
        later(this::discover, retryBackoffMs);
        return;
      }
      coordinator = found.getAddress();
      discovering = false;
      open();
    }
    beat();
  }

  /** Caller holds this. */
  private void open() {
    ClientResponseObserver<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> observer = new ClientResponseObserver<>() {
      private ClientCallStreamObserver<ConsumerGroupHeartbeatRequest> mine;

      @Override
      public void beforeStart(ClientCallStreamObserver<ConsumerGroupHeartbeatRequest> requestStream) {
        mine = requestStream;
      }

      @Override
      public void onNext(ConsumerGroupHeartbeatResponse r) {
        onResponse(mine, r);
      }

      @Override
      public void onError(Throwable t) {
        onStreamEnd(mine, t);
      }

      @Override
      public void onCompleted() {
        onStreamEnd(mine, null);
      }
    };
    stream = GroupServiceGrpc.newStub(channels.get(coordinator)).consumerGroupHeartbeat(observer);
    call = (ClientCallStreamObserver<ConsumerGroupHeartbeatRequest>) stream;
    inFlight = false;
    ownedSent = false; // a new stream resumes with what the member holds
  }

  private void beat() {
    synchronized (this) {
      if (closed || fatal != null || leftForPollTimeout) return;
      if (stream == null) {
        requestDiscovery(0);
        return;
      }
      if (System.currentTimeMillis() - lastPollMs > rebalanceTimeoutMs && epoch > 0) {
        // The application did not poll within max.poll.interval.ms: leave, as Kafka's consumer does.
        log.warn("group {}: no poll for more than {} ms (max.poll.interval.ms); leaving the group, its partitions are"
            + " reassigned; the next poll joins again", groupId, rebalanceTimeoutMs);
        send(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId).setMemberId(memberId).setMemberEpoch(LEAVE_EPOCH));
        leftForPollTimeout = true;
        lose();
        return;
      }
      if (inFlight) return; // the answer schedules the next one; heartbeatWanted makes it immediate
      heartbeatWanted = false;
      ConsumerGroupHeartbeatRequest.Builder r = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId)
          .setMemberId(memberId).setMemberEpoch(epoch).setRebalanceTimeoutMs(rebalanceTimeoutMs).setClientId(clientId);
      if (epoch == 0 || !subscriptionSent) r.setSubscription(Subscription.newBuilder().addAllTopics(new TreeSet<>(subscription)));
      if (epoch == 0) {
        if (instanceId != null) r.setInstanceId(instanceId);
        if (assignor != null) r.setServerAssignor(assignor);
      }
      if (epoch == 0 || !ownedSent) r.setOwnedPartitions(toOwned(owned));
      subscriptionSent = true;
      ownedSent = true;
      inFlight = true;
      send(r);
      scheduleNext(requestTimeoutMs); // an answer that never comes: the stream is reopened then
    }
  }

  /** Caller holds this. */
  private void send(ConsumerGroupHeartbeatRequest.Builder r) {
    try {
      stream.onNext(r.build());
    } catch (RuntimeException e) {
      log.debug("group {}: heartbeat stream failed: {}", groupId, e.toString());
      dropStream();
      coordinator = null;
      requestDiscovery(retryBackoffMs);
    }
  }

  private void onResponse(ClientCallStreamObserver<ConsumerGroupHeartbeatRequest> from, ConsumerGroupHeartbeatResponse r) {
    synchronized (this) {
      if (closed || from != call) return;
      if (r.getPushed()) {
        heartbeatWanted = true;
        if (!inFlight) timer.execute(this::beat);
        return;
      }
      inFlight = false;
      ErrorCode code = r.getError().getCode();
      switch (code) {
        case NONE -> {
          if (epoch != 0 && r.getMemberEpoch() != epoch) {
            // The coordinator had moved this member on while answering others: the partitions it
            // reported at the older epoch released nothing (group.proto), so say them again now.
            ownedSent = false;
            heartbeatWanted = true;
          }
          epoch = r.getMemberEpoch();
          if (r.getHeartbeatIntervalMs() > 0) intervalMs = r.getHeartbeatIntervalMs();
          if (r.hasAssignment()) {
            assignment = fromOwned(r.getAssignment());
            wakeConsumer.run();
          }
        }
        case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE -> {
          log.debug("group {}: {}; finding the coordinator again", groupId, r.getError().getMessage());
          dropStream();
          coordinator = null;
          requestDiscovery(retryBackoffMs);
          return;
        }
        case FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID -> {
          log.info("group {}: member {} lost its partitions ({}); joining again", groupId, memberId, r.getError().getMessage());
          lose();
          heartbeatWanted = true;
        }
        default -> {
          fatal = BrookException.of(r.getError(), "group " + groupId);
          wakeConsumer.run();
          return;
        }
      }
      scheduleNext(heartbeatWanted ? 0 : intervalMs);
    }
  }

  /** Caller holds this: the member's partitions are gone; it joins again with epoch 0. */
  private void lose() {
    epoch = 0;
    assignment = Set.of();
    lostCount++;
    subscriptionSent = false;
    ownedSent = false;
    wakeConsumer.run();
  }

  private void onStreamEnd(ClientCallStreamObserver<ConsumerGroupHeartbeatRequest> from, Throwable t) {
    synchronized (this) {
      if (closed || from != call) return;
      log.debug("group {}: heartbeat stream to {} ended: {}", groupId, coordinator, t == null ? "completed" : t.toString());
      dropStream();
      coordinator = null;
      requestDiscovery(retryBackoffMs);
    }
  }

  /** Caller holds this. */
  private void dropStream() {
    if (call != null) call.cancel("dropped by the consumer", null);
    stream = null;
    call = null;
    inFlight = false;
  }

  /** Caller holds this. */
  private void scheduleNext(long delayMs) {
    if (next != null) next.cancel(false);
    next = timer.schedule(() -> {
      synchronized (this) {
        if (inFlight && !closed) {
          // No answer within the request timeout: the coordinator is gone or stuck.
          log.debug("group {}: heartbeat unanswered for {} ms; reconnecting", groupId, requestTimeoutMs);
          dropStream();
          coordinator = null;
          requestDiscovery(0);
          return;
        }
      }
      beat();
    }, delayMs, TimeUnit.MILLISECONDS);
  }

  private void later(Runnable r, long delayMs) {
    if (!timer.isShutdown()) timer.schedule(r, delayMs, TimeUnit.MILLISECONDS);
  }

  /**
   * Sends the leave (a static member's keeps its partitions for its session timeout), ends the
   * stream and stops the timer. The coordinator applies a leave it received even when the
   * connection closes right after.
   */
  @Override
  public void close() {
    StreamObserver<ConsumerGroupHeartbeatRequest> s;
    synchronized (this) {
      if (closed) return;
      closed = true;
      s = stream;
      if (next != null) next.cancel(false);
      if (s != null && epoch > 0) {
        try {
          s.onNext(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId).setMemberId(memberId)
              .setMemberEpoch(instanceId != null ? STATIC_LEAVE_EPOCH : LEAVE_EPOCH).build());
          s.onCompleted();
        } catch (RuntimeException e) {
          log.debug("group {}: leaving failed: {}", groupId, e.toString());
        }
      }
    }
    timer.shutdownNow();
  }

  static OwnedPartitions toOwned(Set<TopicPartition> tps) {
    Map<String, GroupTopicPartitions.Builder> byTopic = new TreeMap<>();
    for (TopicPartition tp : tps) {
      byTopic.computeIfAbsent(tp.topic(), t -> GroupTopicPartitions.newBuilder().setTopic(t)).addPartitions(tp.partition());
    }
    OwnedPartitions.Builder b = OwnedPartitions.newBuilder();
    byTopic.values().forEach(b::addTopics);
    return b.build();
  }

  static Set<TopicPartition> fromOwned(OwnedPartitions o) {
    Set<TopicPartition> out = new HashSet<>();
    for (GroupTopicPartitions t : o.getTopicsList()) {
      for (int p : t.getPartitionsList()) out.add(new TopicPartition(t.getTopic(), p));
    }
    return Set.copyOf(out);
  }
}
