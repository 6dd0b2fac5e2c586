package dev.brook.quorum;

import dev.brook.quorum.proto.InitializeClusterRequest;
import dev.brook.quorum.proto.QuorumRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Duties of the active controller: logic that reacts to time or to the absence of state, runs
 * only on the Raft leader (between notifyLeaderReady and notifyNotLeader) and acts only by
 * committing commands, so the state machine stays deterministic.
 *
 * <p>Today's only duty: initialize a new cluster (commit its id). The cluster issue adds broker
 * leases (fence brokers whose heartbeats stop, tracked in memory here) and partition leader
 * election, as further duties of {@link #runDuties}.
 *
 * <p>Threading: every duty runs on the single controller thread; the flags are volatile because
 * Ratis notifies from its own threads.
 */
final class QuorumController implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(QuorumController.class);
  private static final long RETRY_MS = 500;

  private final int nodeId;
  private final Supplier<MetadataImage> image;
  private final ScheduledExecutorService executor;
  private volatile boolean leader;
  private volatile boolean closed;
  private volatile Function<QuorumRequest, CompletableFuture<?>> sender;
  private boolean initializing; // controller thread only

  QuorumController(int nodeId, Supplier<MetadataImage> image) {
    this.nodeId = nodeId;
    this.image = image;
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "brook-quorum-controller-" + nodeId);
      t.setDaemon(true);
      return t;
    });
  }

  /** How the controller commits commands (through this node's RaftClient); set once it exists. */
  void start(Function<QuorumRequest, CompletableFuture<?>> sender) {
    this.sender = sender;
    submit(this::runDuties);
  }

  void onLeaderReady() {
    LOG.info("Node {} is the metadata quorum leader: controller duties start", nodeId);
    leader = true;
    submit(this::runDuties);
  }

  void onNotLeader() {
    if (leader) LOG.info("Node {} is no longer the metadata quorum leader: controller duties stop", nodeId);
    leader = false;
  }

  boolean isActive() {
    return leader && !closed;
  }

  private void runDuties() {
    Function<QuorumRequest, CompletableFuture<?>> send = sender;
    if (!isActive() || send == null) return;
    if (image.get().clusterId() == null && !initializing) {
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
  }

  private void submit(Runnable r) {
    if (!closed) {
      try {
        executor.execute(r);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closing
      }
    }
  }

  private void schedule(Runnable r, long delayMs) {
    if (!closed) {
      try {
        executor.schedule(r, delayMs, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
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
