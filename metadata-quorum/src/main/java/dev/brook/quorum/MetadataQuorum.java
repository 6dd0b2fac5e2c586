package dev.brook.quorum;

import dev.brook.quorum.cluster.ClusterDomain;
import dev.brook.quorum.group.GroupDomain;
import dev.brook.quorum.group.RaftGroupClient;
import dev.brook.quorum.cluster.ImagePublisher;
import dev.brook.quorum.cluster.ImageWatcher;
import dev.brook.quorum.cluster.QuorumController;
import dev.brook.quorum.cluster.RaftMetadataClient;
import dev.brook.quorum.cluster.Records;
import dev.brook.quorum.cluster.RequestValidator;
import dev.brook.quorum.raft.CallWindow;
import dev.brook.quorum.raft.HeartbeatCopies;
import dev.brook.quorum.raft.QuorumCalls;
import dev.brook.quorum.raft.QuorumStateMachine;
import dev.brook.quorum.raft.ReconnectingClient;
import dev.brook.quorum.raft.RejoinAwareLogAppender;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the metadata quorum: an Apache Ratis server (GRPC transport) whose state machine
 * keeps the cluster metadata in RocksDB, plus an in-process {@link MetadataClient}.
 *
 * <p>Files, all under {@code data.dir/quorum}: {@code raft/<group uuid>/} is Ratis' storage (log
 * segments, term/vote metadata) with the snapshots (RocksDB checkpoints) in its {@code sm/}
 * subdirectory; {@code db/} is the live RocksDB. The first start formats the Ratis storage; the
 * first leader then commits a generated cluster id. Later starts recover from the same files.
 *
 * <p>A voter whose data directory was lost starts like a new one (FORMAT, the configured voters,
 * an empty log and database) and catches up from the leader: from the log if the leader still has
 * it from index 0, otherwise from the leader's snapshot. Ratis' stock appender would keep sending
 * from where the follower was before the wipe; {@link RejoinAwareLogAppender} makes the leader
 * believe the follower's empty log instead (the reasoning is there).
 */
public final class MetadataQuorum implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataQuorum.class);

  /** How long a heartbeat copy to one voter may take before it is dropped. */
  static final long HEARTBEAT_COPY_TIMEOUT_MS = 1_000;

  /** Every Brook cluster uses one Raft group with this fixed id. */
  static final RaftGroupId GROUP_ID =
      RaftGroupId.valueOf(UUID.nameUUIDFromBytes("brook-metadata".getBytes(StandardCharsets.UTF_8)));

  private final QuorumConfig config;
  private final RaftServer server;
  private final ReconnectingClient<RaftClient> raftClient;
  private final RaftMetadataClient client;
  private final ImagePublisher publisher;
  private final QuorumController controller;
  private final int port;
  private final HeartbeatCopies copies;
  private boolean closed;

  private MetadataQuorum(QuorumConfig config, RaftServer server, ReconnectingClient<RaftClient> raftClient, RaftMetadataClient client,
      ImagePublisher publisher, QuorumController controller, int port, HeartbeatCopies copies) {
    this.copies = copies;
    this.config = config;
    this.server = server;
    this.raftClient = raftClient;
    this.client = client;
    this.publisher = publisher;
    this.controller = controller;
    this.port = port;
  }

  /**
   * Starts this node: formats its storage on first start, recovers it otherwise, and returns once
   * the Ratis server runs. A single-voter quorum also waits (up to the request timeout) until it
   * has elected itself and the cluster id is committed, so the first image is usable at once; a
   * node of a larger quorum cannot wait for peers that may not be started yet.
   */
  public static MetadataQuorum start(QuorumConfig config) throws IOException {
    return start(config, p -> { });
  }

  /** For tests: {@code tuning} may override Ratis properties (e.g. tiny log segments). */
  static MetadataQuorum start(QuorumConfig config, Consumer<RaftProperties> tuning) throws IOException {
    Path quorumDir = config.dataDir().resolve("quorum");
    Path raftDir = quorumDir.resolve("raft");
    Path dbDir = quorumDir.resolve("db");
    Files.createDirectories(raftDir);
    boolean fresh = !Files.exists(raftDir.resolve(GROUP_ID.getUuid().toString()));

    List<RaftPeer> peers = new ArrayList<>();
    for (QuorumConfig.Voter v : config.voters()) peers.add(peer(v.id(), v.host(), v.port()));
    RaftGroup group = RaftGroup.valueOf(GROUP_ID, peers);

    ImagePublisher publisher = new ImagePublisher(config.nodeId());
    QuorumController controller = new QuorumController(config.nodeId(), publisher::current, config.brokerSessionTimeoutMs(),
        config.leaderImbalanceCheckIntervalMs(), config.clusterDefaults(), QuorumController.monotonicClockMs());
    RequestValidator validator = new RequestValidator(config.defaultPartitions(), config.defaultReplicationFactor(),
        Records::newId, System::currentTimeMillis, controller.leases(), controller::nowMs);
    // The quorum's domains; each owns its requests, commands and column families.
    ClusterDomain cluster = new ClusterDomain(validator, publisher, controller);
    QuorumStateMachine stateMachine = new QuorumStateMachine(config.nodeId(), dbDir,
        List.of(cluster, new GroupDomain(cluster::image, System::currentTimeMillis)));

    RaftServer server = null;
    ReconnectingClient<RaftClient> raftClient = null;
    HeartbeatCopies copies = null;
    try {
      server = RaftServer.newBuilder()
          .setServerId(RaftPeerId.valueOf(String.valueOf(config.nodeId())))
          .setGroup(group)
          .setStateMachine(stateMachine)
          .setProperties(serverProperties(config, raftDir, tuning))
          .setOption(fresh ? RaftStorage.StartupOption.FORMAT : RaftStorage.StartupOption.RECOVER)
          .build();
      server.start();
      int port = server.getServerRpc().getInetSocketAddress().getPort();
      LOG.info("Metadata quorum node {} {} on port {} with voters {}", config.nodeId(), fresh ? "formatted and started" : "recovered",
          port, config.voters());

      // The client needs the real address when the port was chosen by the OS (single voter only).
      List<RaftPeer> clientPeers = new ArrayList<>();
      for (QuorumConfig.Voter v : config.voters()) {
        clientPeers.add(v.id() == config.nodeId() ? peer(v.id(), config.quorumHost(), port) : peer(v.id(), v.host(), v.port()));
      }
      RaftGroup clientGroup = RaftGroup.valueOf(GROUP_ID, clientPeers);
      Supplier<RaftClient> newClient = () -> RaftClient.newBuilder()
          .setRaftGroup(clientGroup)
          .setLeaderId(RaftPeerId.valueOf(String.valueOf(config.nodeId())))
          .setProperties(clientProperties(config.requestTimeoutMs()))
          .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
              (int) Math.max(1, config.requestTimeoutMs() / 100), TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
          .build();
      raftClient = new ReconnectingClient<>("metadata client of quorum node " + config.nodeId(), newClient.get(), newClient,
          System::nanoTime);
      RaftServer s = server;
      QuorumCalls calls = new QuorumCalls(raftClient, config.requestTimeoutMs());
      copies = heartbeatCopies(clientPeers, "quorum node " + config.nodeId());
      RaftMetadataClient client = new RaftMetadataClient(calls, publisher,
          () -> QuorumStateMachine.statusOf(s, GROUP_ID, publisher.appliedIndex()), () -> { }, null, new RaftGroupClient(calls),
          copies);
      controller.start(client::write);
      MetadataQuorum quorum = new MetadataQuorum(config, server, raftClient, client, publisher, controller, port, copies);
      if (config.voters().size() == 1) quorum.awaitClusterId();
      return quorum;
    } catch (IOException | RuntimeException e) {
      controller.close();
      closeQuietly(copies);
      closeQuietly(raftClient);
      closeQuietly(server);
      publisher.close();
      throw e;
    }
  }

  private static RaftPeer peer(int id, String host, int port) {
    return RaftPeer.newBuilder().setId(String.valueOf(id)).setAddress(host + ":" + port).build();
  }

  private static RaftProperties serverProperties(QuorumConfig config, Path raftDir, Consumer<RaftProperties> tuning) {
    RaftProperties p = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
    // GRPC, with a leader-side log appender that lets a voter which lost its data directory
    // rejoin under the same id while the leader stays (see RejoinAwareLogAppender).
    RaftConfigKeys.Rpc.setType(p, new RejoinAwareLogAppender.Type());
    GrpcConfigKeys.Server.setHost(p, config.quorumHost());
    GrpcConfigKeys.Server.setPort(p, config.quorumPort());
    // A local-network cluster: elect within a second of losing the leader.
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
    // Reads that must be current (image fetches of remote clients, validate-only, status) use
    // ReadIndex. The leader lease is off on purpose: its safety rests on bounded clock drift, and
    // these reads are rare enough to pay one heartbeat round. Heartbeats are sent as
    // non-linearizable reads, which Ratis answers on the ready leader only.
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, false);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotThresholdEntries());
    // A dead follower must not pin the log forever: purge up to the snapshot; a follower that
    // falls behind it gets the snapshot (a RocksDB checkpoint) instead of the entries.
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    tuning.accept(p);
    return p;
  }

  /**
   * One Ratis client per voter for brokers' heartbeat copies (see {@link HeartbeatCopies}): one
   * attempt, answered within {@link #HEARTBEAT_COPY_TIMEOUT_MS} or dropped. Null for a single
   * voter, which is always the leader.
   */
  private static HeartbeatCopies heartbeatCopies(List<RaftPeer> peers, String name) {
    if (peers.size() < 2) return null;
    RaftGroup group = RaftGroup.valueOf(GROUP_ID, peers);
    RaftProperties p = clientProperties(HEARTBEAT_COPY_TIMEOUT_MS);
    Map<RaftPeerId, ReconnectingClient<RaftClient>> clients = new HashMap<>();
    for (RaftPeer peer : peers) {
      Supplier<RaftClient> factory = () -> RaftClient.newBuilder().setRaftGroup(group).setProperties(p)
          .setRetryPolicy(RetryPolicies.noRetry()).build();
      clients.put(peer.getId(), new ReconnectingClient<>("heartbeat copies of " + name + " to voter " + peer.getId(), null,
          factory, System::nanoTime));
    }
    return new HeartbeatCopies(clients);
  }

  /** The Ratis client's properties, for the in-process client and a remote one alike. */
  private static RaftProperties clientProperties(long requestTimeoutMs) {
    RaftProperties p = new RaftProperties();
    long rpcMs = Math.max(100, Math.min(3000, requestTimeoutMs));
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(rpcMs, TimeUnit.MILLISECONDS));
    // Above what a CallWindow lets through, so that async().send never waits for a permit.
    RaftClientConfigKeys.Async.setOutstandingRequestsMax(p, CallWindow.RATIS_OUTSTANDING_MAX);
    return p;
  }

  private void awaitClusterId() {
    CompletableFuture<MetadataImage> initialized = new CompletableFuture<>();
    publisher.addListener(image -> {
      if (image.clusterId() != null) initialized.complete(image);
    });
    try {
      MetadataImage image = initialized.get(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
      LOG.info("Metadata quorum node {} ready: cluster {} at version {}", config.nodeId(), image.clusterId(), image.version());
    } catch (TimeoutException e) {
      LOG.warn("Metadata quorum node {}: no cluster id after {} ms; the client will report QUORUM_NOT_AVAILABLE until there is",
          config.nodeId(), config.requestTimeoutMs());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A client for a node without a local quorum peer (roles=broker): talks to the voters over the
   * network and keeps its image fresh through a watch. Close it when done.
   */
  public static MetadataClient connect(QuorumConfig.ClientConfig config) throws IOException {
    List<RaftPeer> peers = new ArrayList<>();
    for (QuorumConfig.Voter v : config.voters()) peers.add(peer(v.id(), v.host(), v.port()));
    QuorumConfig.ClientConfig c = config;
    RaftProperties p = clientProperties(c.requestTimeoutMs());
    // Two Ratis clients: a Ratis client sends its requests in one ordered sequence, and the
    // watcher's long waits (watch for the next commit, image fetches) must never hold back a
    // heartbeat behind them, or the broker's lease lapses while it is alive.
    String name = c.clientNodeId() >= 0 ? String.valueOf(c.clientNodeId()) : "client";
    ReconnectingClient<RaftClient> raft;
    ReconnectingClient<RaftClient> watchRaft;
    try {
      raft = new ReconnectingClient<>("metadata client of broker " + name, newRemoteClient(peers, p, c),
          () -> newRemoteClient(peers, p, c), System::nanoTime);
      watchRaft = new ReconnectingClient<>("metadata watch of broker " + name, newRemoteClient(peers, p, c),
          () -> newRemoteClient(peers, p, c), System::nanoTime);
    } catch (RuntimeException e) {
      throw new IOException("cannot create a metadata quorum client for voters " + c.voters() + ": " + e.getMessage(), e);
    }
    ImagePublisher publisher = new ImagePublisher(c.clientNodeId());
    ImageWatcher watcher = new ImageWatcher(watchRaft, publisher, c.requestTimeoutMs(), "brook-quorum-watch-" + name);
    HeartbeatCopies copies = heartbeatCopies(peers, "broker " + name);
    AutoCloseable resources = () -> {
      watcher.close();
      closeQuietly(copies);
      closeQuietly(watchRaft);
      closeQuietly(raft);
      publisher.close();
    };
    QuorumCalls calls = new QuorumCalls(raft, c.requestTimeoutMs());
    RaftMetadataClient client = new RaftMetadataClient(calls, publisher, () -> remoteStatus(raft, c, publisher), watcher::wake,
        resources, new RaftGroupClient(calls), copies);
    watcher.start();
    try {
      watcher.firstImage().get(c.requestTimeoutMs(), TimeUnit.MILLISECONDS);
      LOG.info("Metadata client {} connected to voters {}: image version {}", name, c.voters(), publisher.current().version());
    } catch (TimeoutException | ExecutionException e) {
      LOG.warn("Metadata client {}: no image from voters {} within {} ms; it keeps trying", name, c.voters(),
          c.requestTimeoutMs());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      client.close();
      throw new IOException("interrupted while connecting to the metadata quorum", e);
    }
    return client;
  }

  private static RaftClient newRemoteClient(List<RaftPeer> peers, RaftProperties p, QuorumConfig.ClientConfig c) {
    return RaftClient.newBuilder()
        .setRaftGroup(RaftGroup.valueOf(GROUP_ID, peers))
        .setProperties(p)
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
            (int) Math.max(1, c.requestTimeoutMs() / 100), TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
        .build();
  }

  /**
   * The quorum's status as the Raft leader sees it (a leader read: Ratis serves it only on the
   * ready leader, which knows the term and commit index best); leader -1 (and the configured
   * voters) when no voter answers.
   */
  private static dev.brook.proto.v1.QuorumStatus remoteStatus(ReconnectingClient<RaftClient> raft, QuorumConfig.ClientConfig c,
      ImagePublisher publisher) {
    dev.brook.quorum.proto.QuorumRequest req = dev.brook.quorum.proto.QuorumRequest.newBuilder()
        .setStatus(dev.brook.quorum.proto.StatusRequest.getDefaultInstance()).build();
    try {
      org.apache.ratis.protocol.RaftClientReply r = raft.call(cl -> cl.async().sendReadOnlyNonLinearizable(QuorumCalls.toMessage(req)))
          .get(c.requestTimeoutMs(), TimeUnit.MILLISECONDS);
      if (r.isSuccess()) return QuorumCalls.parse(r, dev.brook.proto.v1.QuorumStatus::parseFrom);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      // fall through: unknown
    }
    dev.brook.proto.v1.QuorumStatus.Builder b = dev.brook.proto.v1.QuorumStatus.newBuilder().setLeaderId(-1)
        .setAppliedIndex(publisher.appliedIndex());
    for (QuorumConfig.Voter v : c.voters()) {
      b.addVoters(dev.brook.proto.v1.QuorumVoter.newBuilder().setNodeId(v.id()).setAddress(v.address()));
    }
    return b.build();
  }

  /** The in-process client bound to this node. */
  public MetadataClient client() {
    return client;
  }

  /** For tests: this node's Ratis client (snapshot management and the like). */
  RaftClient raftClient() {
    return raftClient.acquire();
  }

  /** For tests: this node's Raft division (log start index, follower state and the like). */
  RaftServer.Division division() throws IOException {
    return server.getDivision(GROUP_ID);
  }

  /** The port the Ratis server listens on (the OS-chosen one when configured with port 0). */
  public int port() {
    return port;
  }

  /** Stops the controller, the client and the Ratis server (which closes the database). Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    controller.close();
    closeQuietly(copies);
    closeQuietly(raftClient);
    closeQuietly(server);
    publisher.close();
    LOG.info("Metadata quorum node {} stopped", config.nodeId());
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) return;
    try {
      c.close();
    } catch (Exception e) {
      LOG.warn("Error while closing {}: {}", c.getClass().getSimpleName(), e.toString());
    }
  }
}
