package dev.brook.quorum.cluster;

import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.HeartbeatReply;
import dev.brook.quorum.proto.InitializeClusterRequest;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.raft.NotActiveLeaderException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Duties of the active controller: logic that reacts to time or to the absence of state runs
 * only on the Raft leader (between notifyLeaderReady and notifyNotLeader) and acts only by
 * committing commands, so the state machine stays deterministic. Duties: initialize a new
 * cluster (commit its id); broker leases from heartbeats (answered here from memory, never
 * logged); fencing, unfencing, controlled shutdown, leader election and preferred leader restore,
 * decided by {@link ActiveController} and committed as one {@link ControllerBatch} per decision.
 *
 * <p>Threading: every duty runs on the single controller thread, which owns the
 * {@link ActiveController}; Ratis notifies from its own threads, which only submit tasks. A
 * leadership term has a generation number, so the completion of a batch sent in an earlier term
 * cannot unblock or confuse the current one. At most one batch is in flight: the next poll sees
 * the image it produced.
 */
public final class QuorumController implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(QuorumController.class);
  private static final long RETRY_MS = 500;
  /**
   * How often the duties run regardless of events (retries, imbalance checks). Lease expiries do
   * not wait for it: the controller also wakes at the next lease deadline ({@link #armLeaseWake}),
   * so a dead broker is fenced within milliseconds of the end of its session.
   */
  static final long TICK_MS = 250;
  /** The answer to every heartbeat copy: NONE, nothing decided. */
  private static final HeartbeatReply COPY_RECORDED = HeartbeatReply.newBuilder().setErrorCode(0).build();

  private final int nodeId;
  private final Supplier<MetadataImage> image;
  private final long sessionTimeoutMs;
  private final long imbalanceIntervalMs;
  private final Map<String, String> topicDefaults;
  private final LongSupplier clockMs;
  private final ScheduledExecutorService executor;
  /** Which incarnation of each broker this term heard from: read by the request validator. */
  private final IncarnationLeases leases;
  private volatile boolean leader;
  private volatile boolean closed;
  private volatile Function<QuorumRequest, CompletableFuture<?>> sender;

  // Controller thread only.
  private boolean initializing;
  private ActiveController active;
  private long generation;
  private boolean batchInFlight;
  private ScheduledFuture<?> ticker;
  /**
   * While this node is not the active controller: the brokers' heartbeat copies it received
   * ({@link #heartbeatCopy}), observed every tick so that a pause of this node is noticed; seeds
   * the next {@link ActiveController}. Replaced by a fresh one whenever duties stop.
   */
  private BrokerHeartbeatManager standby;
  /** A one-shot wake at {@link #leaseWakeAtMs}, the earliest lease deadline seen; null when none. */
  private ScheduledFuture<?> leaseWake;
  private long leaseWakeAtMs;

  /** @param clockMs a monotonic clock in ms (tests pass a fake one) */
  public QuorumController(int nodeId, Supplier<MetadataImage> image, long sessionTimeoutMs, long imbalanceIntervalMs,
      Map<String, String> topicDefaults, LongSupplier clockMs) {
    this.nodeId = nodeId;
    this.image = image;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.imbalanceIntervalMs = imbalanceIntervalMs;
    this.topicDefaults = Map.copyOf(topicDefaults);
    this.clockMs = clockMs;
    this.leases = new IncarnationLeases(sessionTimeoutMs);
    this.standby = ActiveController.newStandby(sessionTimeoutMs, clockMs.getAsLong());
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "brook-quorum-controller-" + nodeId);
      t.setDaemon(true);
      return t;
    });
  }

  public static LongSupplier monotonicClockMs() {
    return () -> TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
  }

  /** How the controller commits commands (through this node's RaftClient); set once it exists. */
  public void start(Function<QuorumRequest, CompletableFuture<?>> sender) {
    this.sender = sender;
    submit(this::runDuties);
    try {
      executor.scheduleWithFixedDelay(this::observeStandby, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  private void observeStandby() {
    if (active == null) standby.observe(clockMs.getAsLong());
  }

  public void onLeaderReady() {
    LOG.info("Node {} is the metadata quorum leader: controller duties start", nodeId);
    leader = true;
    submit(() -> {
      if (!leader || active != null) return;
      generation++;
      batchInFlight = false;
      // Heartbeats were answered by the previous leader only; what this node heard of them as
      // copies lets a broker that was silent before the election be fenced a session after its
      // last copy, and every other broker gets a full session from now.
      long now = clockMs.getAsLong();
      standby.observe(now);
      active = new ActiveController(sessionTimeoutMs, imbalanceIntervalMs, topicDefaults, now, standby);
      leases.activated(clockMs.getAsLong());
      if (ticker != null) ticker.cancel(false);
      ticker = executor.scheduleWithFixedDelay(this::runDuties, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
      runDuties();
    });
  }

  public void onNotLeader() {
    if (leader) LOG.info("Node {} is no longer the metadata quorum leader: controller duties stop", nodeId);
    leader = false;
    submit(this::deactivate);
  }

  private void deactivate() {
    if (leader) return;
    active = null;
    standby = ActiveController.newStandby(sessionTimeoutMs, clockMs.getAsLong());
    leases.deactivated();
    generation++;
    batchInFlight = false;
    if (ticker != null) {
      ticker.cancel(false);
      ticker = null;
    }
    cancelLeaseWake();
  }

  /**
   * Schedules a poll at the earliest lease deadline of the current image, unless one at or before
   * it is already scheduled. Heartbeats only move deadlines later, so a wake that finds nothing
   * expired simply arms the next one; a newly unfenced broker's deadline is seen by the poll
   * that unfenced it.
   */
  private void armLeaseWake() {
    if (active == null) return;
    long next = active.nextLeaseExpiryMs(image.get());
    if (next == Long.MAX_VALUE) return;
    if (leaseWake != null && !leaseWake.isDone() && leaseWakeAtMs <= next) return;
    cancelLeaseWake();
    leaseWakeAtMs = next;
    long delay = Math.max(0, next - clockMs.getAsLong());
    try {
      leaseWake = executor.schedule(this::runDuties, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      leaseWake = null; // closing
    }
  }

  private void cancelLeaseWake() {
    if (leaseWake != null) {
      leaseWake.cancel(false);
      leaseWake = null;
    }
  }

  /** The incarnation evidence of this term (see {@link IncarnationLeases}); thread-safe. */
  public IncarnationLeases leases() {
    return leases;
  }

  /** The controller's monotonic clock, ms. */
  public long nowMs() {
    return clockMs.getAsLong();
  }

  boolean isActive() {
    return leader && !closed;
  }

  /**
   * A broker heartbeat, answered on the controller thread from memory. Fails with
   * {@link NotActiveLeaderException} when this node is not the active controller.
   */
  CompletableFuture<HeartbeatReply> heartbeat(int brokerId, long brokerEpoch, boolean wantShutdown) {
    return call(a -> {
      MetadataImage current = image.get();
      long now = clockMs.getAsLong();
      HeartbeatReply reply = a.heartbeat(current, brokerId, brokerEpoch, wantShutdown, now);
      BrokerImage b = current.brokers().get(brokerId);
      if (reply.getErrorCode() == 0 && b != null) leases.heard(brokerId, b.incarnationId(), now);
      if (ActiveController.wantsAction(current, brokerId, wantShutdown)) runDuties();
      return reply;
    });
  }

  /**
   * A copy of a broker heartbeat sent to this voter: recorded while this node is not the active
   * controller (the active one has the heartbeat itself), with no check against the image (a
   * follower's may lag; a seed counts only for the epoch it names). Answers NONE at once.
   */
  CompletableFuture<HeartbeatReply> heartbeatCopy(int brokerId, long brokerEpoch) {
    submit(() -> {
      if (active != null) return;
      long now = clockMs.getAsLong();
      standby.observe(now);
      standby.touch(brokerId, brokerEpoch, false, now);
    });
    return CompletableFuture.completedFuture(COPY_RECORDED);
  }

  /** The heartbeat tracker's ages; fails with {@link NotActiveLeaderException} when not the active controller. */
  CompletableFuture<Map<Integer, Long>> heartbeatAges() {
    return call(a -> a.heartbeatAges(clockMs.getAsLong()));
  }

  private <T> CompletableFuture<T> call(Function<ActiveController, T> f) {
    CompletableFuture<T> out = new CompletableFuture<>();
    boolean queued = submit(() -> {
      if (active == null || !isActive()) {
        out.completeExceptionally(new NotActiveLeaderException(nodeId));
        return;
      }
      try {
        out.complete(f.apply(active));
      } catch (RuntimeException e) {
        out.completeExceptionally(e);
      }
    });
    if (!queued) out.completeExceptionally(new NotActiveLeaderException(nodeId));
    return out;
  }

  private void runDuties() {
    Function<QuorumRequest, CompletableFuture<?>> send = sender;
    if (!isActive() || send == null) return;
    MetadataImage current = image.get();
    if (current.clusterId() == null) {
      if (!initializing) {
        initializing = true;
        send.apply(QuorumRequest.newBuilder().setInitializeCluster(InitializeClusterRequest.getDefaultInstance()).build())
            .whenComplete((r, e) -> submit(() -> {
              initializing = false;
              if (e != null) {
                LOG.warn("Initializing the cluster failed, retrying in {} ms: {}", RETRY_MS, e.toString());
                schedule(this::runDuties, RETRY_MS);
              }
            }));
      }
      return;
    }
    if (active == null) return;
    if (batchInFlight) {
      active.observe(clockMs.getAsLong()); // the controller runs: a slow batch is no pause
      return; // a batch's completion runs the duties again
    }
    ControllerBatch batch;
    try {
      batch = active.poll(current, clockMs.getAsLong());
    } catch (RuntimeException e) {
      LOG.error("Controller decision failed on image {}", current.version(), e);
      return;
    } finally {
      armLeaseWake();
    }
    if (batch == null) return;
    if (batch.getReason().contains(ActiveController.UNCLEAN_ELECTION)) {
      LOG.warn("Controller on node {}: {} ({} broker and {} partition changes)", nodeId, batch.getReason(),
          batch.getBrokersCount(), batch.getPartitionsCount());
    } else {
      LOG.info("Controller on node {}: {} ({} broker and {} partition changes)", nodeId, batch.getReason(),
          batch.getBrokersCount(), batch.getPartitionsCount());
    }
    batchInFlight = true;
    long gen = generation;
    send.apply(QuorumRequest.newBuilder().setControllerBatch(batch).build())
        .whenComplete((r, e) -> submit(() -> {
          if (gen != generation) return;
          batchInFlight = false;
          if (e != null) {
            LOG.warn("Committing controller decision failed ({}); deciding again: {}", batch.getReason(), e.toString());
          } else {
            runDuties(); // the applied batch may enable the next step (e.g. a leader for a new ISR)
          }
        }));
  }

  private boolean submit(Runnable r) {
    if (closed) return false;
    try {
      executor.execute(r);
      return true;
    } catch (RejectedExecutionException e) {
      return false; // closing
    }
  }

  private void schedule(Runnable r, long delayMs) {
    if (!closed) {
      try {
        executor.schedule(r, delayMs, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // closing
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    executor.shutdownNow();
  }
}
