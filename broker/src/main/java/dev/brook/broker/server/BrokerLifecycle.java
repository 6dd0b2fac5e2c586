package dev.brook.broker.server;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerRegistration;
import dev.brook.quorum.HeartbeatResult;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.RegistrationRefusedException;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This broker's membership in the cluster: it registers with the metadata quorum (getting a new
 * broker epoch), keeps its lease with a heartbeat every {@code broker.heartbeat.interval.ms}, and
 * on shutdown asks the quorum to move its leaderships away before it stops serving.
 *
 * <p>Registration and heartbeats retry forever in the background: a node of a cluster that is
 * still starting (no quorum majority yet) simply waits. A heartbeat answered STALE_BROKER_EPOCH
 * means the quorum fenced this incarnation (for example after a long pause): the broker
 * registers again and continues under the new epoch. Its metadata client replaces a Ratis client
 * that broke during a long quorum outage, so "retry forever" really reaches the quorum again.
 *
 * <p>Identity: every registration carries the node's incarnation id and cluster id from its
 * {@link NodeIdentity}; the cluster id the quorum answers with is stored there at the first
 * registration. A registration the quorum refuses for good (another live node holds this node
 * id, or the data dir belongs to another cluster) stops the lifecycle: {@link #ready()} fails
 * with a {@link ConfigException} whose one-line message says why, and the node exits.
 *
 * <p>Threading: all state changes run on the scheduler's thread or under this object's lock;
 * {@link #brokerEpoch()} and {@link #ready()} may be read from anywhere.
 */
final class BrokerLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(BrokerLifecycle.class);

  private final MetadataClient quorum;
  private final NodeIdentity identity;
  private final int nodeId;
  private final String address;
  private final String rack;
  private final long heartbeatIntervalMs;
  private final ScheduledExecutorService scheduler;
  private final CompletableFuture<Long> ready = new CompletableFuture<>();
  private volatile long brokerEpoch = -1;
  private volatile boolean fenced = true;
  private volatile boolean wantShutdown;
  private volatile boolean stopped;
  private volatile CompletableFuture<Void> shutdownReady;
  private ScheduledFuture<?> heartbeats;
  private long lastFailureLogNanos;

  BrokerLifecycle(MetadataClient quorum, NodeIdentity identity, String address, String rack, long heartbeatIntervalMs,
      ScheduledExecutorService scheduler) {
    this.quorum = quorum;
    this.identity = identity;
    this.nodeId = identity.nodeId();
    this.address = address;
    this.rack = rack;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.scheduler = scheduler;
  }

  /** Starts registering; {@link #ready()} completes once the quorum unfenced this broker. */
  synchronized void start() {
    scheduler.execute(this::register);
  }

  /** Completes with the broker epoch once this broker is registered and unfenced. */
  CompletableFuture<Long> ready() {
    return ready;
  }

  /** The current broker epoch, or -1 before the first registration. */
  long brokerEpoch() {
    return brokerEpoch;
  }

  boolean fenced() {
    return fenced;
  }

  private void register() {
    if (stopped) return;
    BrokerRegistration registration = new BrokerRegistration(nodeId, address, rack, identity.incarnationId(),
        identity.clusterId());
    quorum.register(registration).whenComplete((registered, e) -> {
      if (e != null) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof RegistrationRefusedException refused) {
          fail("the metadata quorum refused this node: " + refused.getMessage());
          return;
        }
        logFailure("registration with the metadata quorum failed, retrying", e);
        if (!stopped) scheduler.schedule(this::register, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        return;
      }
      try {
        identity.recordClusterId(registered.clusterId());
      } catch (ConfigException ce) {
        fail(ce.getMessage());
        return;
      } catch (IOException io) {
        fail("cannot write " + identity.file() + ": " + io.getMessage());
        return;
      }
      long epoch = registered.brokerEpoch();
      brokerEpoch = epoch;
      LOG.info("broker {} registered at {} with broker epoch {} (incarnation {}, cluster {})", nodeId, address, epoch,
          identity.incarnationId(), registered.clusterId());
      synchronized (this) {
        if (heartbeats == null && !stopped) {
          heartbeats = scheduler.scheduleWithFixedDelay(this::heartbeat, 0, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        }
      }
    });
  }

  /** A refusal for good: stop heartbeating and fail {@link #ready()} with the one-line reason. */
  private void fail(String message) {
    LOG.error("broker {}: {}", nodeId, message);
    synchronized (this) {
      stopped = true;
      if (heartbeats != null) heartbeats.cancel(false);
    }
    ready.completeExceptionally(new ConfigException(message));
  }

  private void heartbeat() {
    long epoch = brokerEpoch;
    if (stopped || epoch < 0) return;
    CompletableFuture<HeartbeatResult> f;
    try {
      f = quorum.heartbeat(nodeId, epoch, wantShutdown);
    } catch (RuntimeException e) {
      logFailure("heartbeat failed", e);
      return;
    }
    f.whenComplete((r, e) -> {
      if (e != null) {
        logFailure("heartbeat to the metadata quorum failed", e);
        return;
      }
      if (r.error() == ErrorCode.STALE_BROKER_EPOCH) {
        CompletableFuture<Void> s = shutdownReady;
        if (s != null) {
          // Fenced already: it leads nothing, so there is nothing left to hand over.
          s.complete(null);
          return;
        }
        if (brokerEpoch == epoch && !wantShutdown) {
          LOG.warn("broker epoch {} is no longer current (the quorum fenced this broker); registering again", epoch);
          brokerEpoch = -1;
          scheduler.execute(this::register);
        }
        return;
      }
      if (r.error() != ErrorCode.NONE) {
        logFailure("heartbeat answered " + r.error(), null);
        return;
      }
      if (fenced != r.fenced()) {
        LOG.info("broker {} is now {}", nodeId, r.fenced() ? "fenced" : "active (unfenced)");
      }
      fenced = r.fenced();
      if (!r.fenced()) ready.complete(epoch);
      CompletableFuture<Void> s = shutdownReady;
      if (s != null && r.shutdownReady()) s.complete(null);
    });
  }

  /**
   * Asks the quorum to move this broker's leaderships to other in-sync replicas and waits (up to
   * {@code timeoutMs}) until it says none are left. Heartbeats continue meanwhile so the lease
   * does not lapse during the hand-over.
   */
  void controlledShutdown(long timeoutMs) {
    if (brokerEpoch < 0 || stopped) return;
    CompletableFuture<Void> done = new CompletableFuture<>();
    shutdownReady = done;
    wantShutdown = true;
    scheduler.execute(this::heartbeat);
    try {
      done.get(timeoutMs, TimeUnit.MILLISECONDS);
      LOG.info("controlled shutdown: leaderships handed over");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("controlled shutdown did not complete in {} ms; stopping anyway", timeoutMs);
    }
  }

  synchronized void stop() {
    stopped = true;
    if (heartbeats != null) heartbeats.cancel(false);
    ready.completeExceptionally(new IllegalStateException("broker is shutting down"));
  }

  /** Logs a failure at most every 10 s at WARN (the rest at DEBUG): a down quorum is not news each second. */
  private void logFailure(String what, Throwable e) {
    String cause = e == null ? "" : ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
    long now = System.nanoTime();
    synchronized (this) {
      if (now - lastFailureLogNanos > TimeUnit.SECONDS.toNanos(10)) {
        lastFailureLogNanos = now;
        LOG.warn("{}{}", what, cause);
        return;
      }
    }
    LOG.debug("{}{}", what, cause);
  }
}
