package dev.brook.broker.server;

import dev.brook.broker.replica.ReplicaManager;
import dev.brook.broker.replica.ReplicationConfig;
import dev.brook.broker.group.Assignors;
import dev.brook.broker.group.GroupCoordinator;
import dev.brook.broker.group.QuorumGroupStore;
import dev.brook.broker.group.TopicCounts;
import dev.brook.broker.service.AdminServiceImpl;
import dev.brook.broker.service.ClientAddress;
import dev.brook.broker.service.GroupServiceImpl;
import dev.brook.broker.service.FetchServiceImpl;
import dev.brook.broker.service.MalformedRequestGuard;
import dev.brook.broker.service.MetadataServiceImpl;
import dev.brook.broker.service.ProduceServiceImpl;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataQuorum;
import dev.brook.quorum.QuorumConfig;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import io.grpc.ServerInterceptors;
import dev.brook.quorum.GroupPlacement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Brook process: the metadata quorum peer and/or the broker, per {@link NodeConfig#roles()}.
 *
 * <p>Start-up order: quorum first (the broker needs metadata), then the broker's logs, then the
 * gRPC server, then the broker registers itself with the quorum under the address it really
 * listens on. Shutdown runs the other way round.
 */
public final class BrookNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BrookNode.class);
  /** How often the group coordinator's timer looks for members past their deadlines. */
  private static final long GROUP_TIMER_MS = 100;
  /** Flow-control window for HTTP/2 streams: large, so fetch responses flow without stalls. */
  private static final int FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

  private final NodeConfig config;
  private MetadataQuorum quorum;
  private MetadataClient remoteMetadata;
  private BrokerLifecycle lifecycle;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private ReplicaManager replicas;
  private Server server;
  private HealthStatusManager health;
  private ScheduledExecutorService scheduler;
  private GroupCoordinator groups;
  private GroupServiceImpl groupService;
  private ExecutorService fetchExecutor;
  private String brokerAddress;

  private BrookNode(NodeConfig config) {
    this.config = config;
  }

  /** Starts the node; on failure everything started so far is stopped again. */
  public static BrookNode start(NodeConfig config) throws IOException {
    PortCheck.ensureBindable(config);   // before anything is created on disk
    BrookNode node = new BrookNode(config);
    try {
      node.startAll();
      return node;
    } catch (IOException | RuntimeException e) {
      node.close();
      throw e;
    }
  }

  private void startAll() throws IOException {
    // Before anything touches the data dir: it must be this node's (see NodeIdentity).
    NodeIdentity identity = NodeIdentity.open(config.dataDir(), config.nodeId());
    MetadataClient metadata = null;
    if (config.hasRole(NodeConfig.Role.QUORUM)) {
      quorum = MetadataQuorum.start(quorumConfig());
      metadata = quorum.client();
      LOG.info("metadata quorum peer {} listening on {}:{}", config.nodeId(), config.quorumAddress().host(), quorum.port());
    }
    if (!config.hasRole(NodeConfig.Role.BROKER)) {
      ready.complete(null);
      return;
    }
    if (metadata == null) {
      remoteMetadata = MetadataQuorum.connect(new QuorumConfig.ClientConfig(quorumVoters(),
          config.quorumRequestTimeoutMs(), config.nodeId()));
      metadata = remoteMetadata;
    }
    scheduler = Executors.newScheduledThreadPool(1, daemon("brook-scheduler"));
    fetchExecutor = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
        daemon("brook-fetch"));
    replicas = new ReplicaManager(config.nodeId(), config.dataDir(), config.topicDefaults(), System::currentTimeMillis,
        config.replication(), metadata, this::brokerEpoch);
    metadata.addListener(replicas::onImage);
    replicas.startBackgroundTasks(scheduler, config.retentionCheckIntervalMs(), config.flushSchedulerIntervalMs());
    if (config.scrubberEnabled()) replicas.startScrubber(config.scrubberBytesPerSecond(), config.scrubberIntervalMs());

    health = new HealthStatusManager();
    List<ServerServiceDefinition> services = new ArrayList<>();
    services.add(new ProduceServiceImpl(replicas, config.nodeId(), scheduler).bindService());
    services.add(new FetchServiceImpl(replicas, config.nodeId(), scheduler, fetchExecutor).bindService());
    services.add(new MetadataServiceImpl(replicas, metadata, config.autoCreateTopics()).bindService());
    services.add(new AdminServiceImpl(metadata, replicas, config.topicDefaults()).bindService());
    groups = startGroupCoordinator(metadata);
    groupService = new GroupServiceImpl(groups, metadata.groups(), replicas, config.nodeId(),
        config.groupHeartbeatIntervalMs());
    services.add(groupService.bindService());
    HostPort address = config.brokerAddress();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(address.host(), address.port()))
        .maxInboundMessageSize(config.maxRequestBytes())
        .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance());
    ClientAddress clientAddress = new ClientAddress();
    for (ServerServiceDefinition s : services) {
      builder.addService(ServerInterceptors.intercept(MalformedRequestGuard.guard(s), clientAddress));
    }
    try {
      server = builder.build().start();
    } catch (IOException e) {
      // Taken between PortCheck and now (a race): still name the key and address.
      if (e.getMessage() != null && e.getMessage().startsWith("Failed to bind")) {
        throw new ConfigException(NodeConfig.BROKER_ADDRESS, PortCheck.describe(NodeConfig.BROKER_ADDRESS, address,
            e.getCause() == null ? e.getMessage() : e.getCause().getMessage()));
      }
      throw e;
    }
    brokerAddress = address.host() + ":" + server.getPort();
    health.setStatus("", ServingStatus.NOT_SERVING);
    LOG.info("broker {} listening on {}; registering with the metadata quorum", config.nodeId(), brokerAddress);

    lifecycle = new BrokerLifecycle(metadata, identity, brokerAddress, config.rack(),
        config.heartbeatIntervalMs(), scheduler);
    lifecycle.ready().whenComplete((epoch, e) -> {
      if (e != null) {
        // Refused by the quorum (duplicate node id, another cluster): ready fails with the reason.
        ready.completeExceptionally(e instanceof java.util.concurrent.CompletionException && e.getCause() != null
            ? e.getCause() : e);
        return;
      }
      health.setStatus("", ServingStatus.SERVING);
      for (ServerServiceDefinition s : services) {
        health.setStatus(s.getServiceDescriptor().getName(), ServingStatus.SERVING);
      }
      ready.complete(null);
    });
    lifecycle.start();
    if (config.voters().size() == 1 && quorum != null) {
      // A single-node cluster has everything it needs: return once it can serve.
      awaitReady(config.quorumRequestTimeoutMs());
    }
  }

  /** Waits until the broker is registered and unfenced (or, without the broker role, at once). */
  public void awaitReady(long timeoutMs) throws IOException {
    try {
      ready.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the metadata quorum", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof ConfigException refused) throw refused;
      throw new IOException("broker " + config.nodeId() + " was not admitted by the metadata quorum within "
          + timeoutMs + " ms", e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("broker " + config.nodeId() + " was not admitted by the metadata quorum within "
          + timeoutMs + " ms", e);
    }
  }

  /**
   * Completes when the node can serve: its broker is registered and unfenced. A node of a
   * multi-voter cluster starts before the quorum has a majority, so this may take until enough
   * voters are up.
   */
  public CompletableFuture<Void> ready() {
    return ready;
  }

  /**
   * The consumer group coordinator of this broker: its store is the quorum's group domain, its
   * timer removes members whose session or rebalance timeout passed, and groups this broker no
   * longer coordinates by a new image are forgotten (the next coordinator loads them).
   */
  private GroupCoordinator startGroupCoordinator(MetadataClient metadata) {
    TopicCounts topics = new TopicCounts(replicas::image);
    GroupCoordinator c = new GroupCoordinator(new QuorumGroupStore(metadata.groups(), config.nodeId(), this::brokerEpoch),
        Assignors.builtIn(), config.groupSessionTimeoutMs(), () -> System.nanoTime() / 1_000_000, topics);
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        if (System.nanoTime() / 1_000_000 >= c.nextDeadlineMs()) c.expireAll();
      } catch (RuntimeException e) {
        LOG.warn("group expiry failed: {}", e.toString());
      }
    }, GROUP_TIMER_MS, GROUP_TIMER_MS, TimeUnit.MILLISECONDS);
    metadata.addListener(image -> {
      for (String g : c.loadedGroups()) {
        if (GroupPlacement.coordinator(g, image) != config.nodeId()) c.unload(g);
      }
    });
    return c;
  }

  /** This broker's epoch from its latest registration, or -1. */
  public long brokerEpoch() {
    return lifecycle == null ? -1 : lifecycle.brokerEpoch();
  }

  private List<QuorumConfig.Voter> quorumVoters() {
    List<QuorumConfig.Voter> voters = new ArrayList<>();
    for (NodeConfig.Voter v : config.voters()) {
      voters.add(new QuorumConfig.Voter(v.id(), v.host(), v.port()));
    }
    return voters;
  }

  private QuorumConfig quorumConfig() {
    return QuorumConfig.builder()
        .nodeId(config.nodeId())
        .quorumAddress(config.quorumAddress().toString())
        .voters(quorumVoters())
        .brokerSessionTimeoutMs(config.sessionTimeoutMs())
        .leaderImbalanceCheckIntervalMs(config.leaderImbalanceCheckIntervalMs())
        .dataDir(config.dataDir())
        .snapshotThresholdEntries(config.quorumSnapshotThreshold())
        .requestTimeoutMs(config.quorumRequestTimeoutMs())
        .clusterDefaults(config.topicDefaults())
        .build();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public NodeConfig config() {
    return config;
  }

  /** host:port the broker listens on (the real port when configured with 0), or null. */
  public String brokerAddress() {
    return brokerAddress;
  }

  /** The port the broker listens on, or -1 without the broker role. */
  public int brokerPort() {
    return server == null ? -1 : server.getPort();
  }

  /** The broker's partitions and replication, or null without the broker role (tests look inside). */
  public ReplicaManager replicaManager() {
    return replicas;
  }

  /** The in-process metadata quorum peer, or null without the quorum role. */
  public MetadataQuorum quorum() {
    return quorum;
  }

  /** Blocks until the gRPC server terminates (after {@link #close()} from another thread). */
  public void awaitTermination() throws InterruptedException {
    if (server != null) {
      server.awaitTermination();
    } else {
      new java.util.concurrent.CountDownLatch(1).await();
    }
  }

  @Override
  public synchronized void close() {
    if (lifecycle != null) {
      // Hand leaderships to other replicas while clients can still be told where they went.
      lifecycle.controlledShutdown(config.controlledShutdownTimeoutMs());
      lifecycle.stop();
    }
    ready.completeExceptionally(new IllegalStateException("node " + config.nodeId() + " stopped"));
    if (health != null) health.enterTerminalState();
    if (server != null) {
      server.shutdown();
      try {
        // Unary calls finish within the grace period; long-lived streams (fetch long polls,
        // metadata watches, follower fetches) never would: they are cancelled and their clients
        // reconnect elsewhere.
        if (!server.awaitTermination(1, TimeUnit.SECONDS)) {
          server.shutdownNow();
          server.awaitTermination(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        server.shutdownNow();
      }
    }
    if (scheduler != null) scheduler.shutdownNow();
    if (fetchExecutor != null) fetchExecutor.shutdownNow();
    if (groupService != null) groupService.close();
    if (replicas != null) replicas.close();
    if (remoteMetadata != null) remoteMetadata.close();
    if (quorum != null) quorum.close();
    LOG.info("node {} stopped", config.nodeId());
  }
}
