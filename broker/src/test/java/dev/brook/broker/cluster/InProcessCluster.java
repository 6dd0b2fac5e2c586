package dev.brook.broker.cluster;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.NodeConfig;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A cluster of {@code BrookNode}s in this JVM, each with roles quorum,broker on 127.0.0.1: quorum
 * ports picked free in advance (the voters list must name them), broker ports 0 (each node
 * registers the port it really got, so a restarted node usually comes back on another port).
 * Nodes are numbered from 1. Closing stops every running node in parallel (closing Ratis peers
 * one after another costs seconds of re-elections).
 *
 * <p>Optionally the brokers are followed by quorum-only nodes, voters that host no partitions:
 * with 3 brokers and 2 of those, two brokers can be down while the quorum keeps its majority.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
public final class InProcessCluster implements AutoCloseable {
  private final Path dir;
  private final Map<String, String> overrides;
  private final String voters;
  private final int[] quorumPorts;
  private final int brokers;
  private final BrookNode[] nodes;
  private final Map<Integer, ManagedChannel> channels = new HashMap<>();

  private InProcessCluster(Path dir, int brokers, int size, Map<String, String> overrides) throws IOException {
    this.dir = dir;
    this.brokers = brokers;
    this.overrides = Map.copyOf(overrides);
    this.quorumPorts = new int[size];
    this.nodes = new BrookNode[size];
    List<String> v = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      quorumPorts[i] = freePort();
      v.add((i + 1) + "@127.0.0.1:" + quorumPorts[i]);
    }
    this.voters = String.join(",", v);
  }

  /**
   * Starts {@code size} nodes with {@code overrides} added to every node's config, and waits until
   * every broker is registered and unfenced.
   */
  public static InProcessCluster start(Path dir, int size, Map<String, String> overrides) throws IOException {
    return start(dir, size, 0, overrides);
  }

  /**
   * Starts nodes 1 to {@code brokers} with roles quorum,broker and {@code quorumOnly} more with
   * the quorum role only (all of them voters), {@code overrides} added to every node's config;
   * waits until every broker is registered and unfenced.
   */
  public static InProcessCluster start(Path dir, int brokers, int quorumOnly, Map<String, String> overrides)
      throws IOException {
    int size = brokers + quorumOnly;
    InProcessCluster c = new InProcessCluster(dir, brokers, size, overrides);
    try {
      List<CompletableFuture<Void>> started = new ArrayList<>();
      for (int id = 1; id <= size; id++) {
        int nodeId = id;
        started.add(CompletableFuture.runAsync(() -> {
          try {
            c.nodes[nodeId - 1] = BrookNode.start(c.config(nodeId));
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }));
      }
      CompletableFuture.allOf(started.toArray(CompletableFuture[]::new)).join();
      for (int id = 1; id <= size; id++) c.node(id).awaitReady(60_000);
      return c;
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private NodeConfig config(int id) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put(NodeConfig.NODE_ID, String.valueOf(id));
    p.put(NodeConfig.ROLES, id <= brokers ? "quorum,broker" : "quorum");
    p.put(NodeConfig.BROKER_ADDRESS, "127.0.0.1:0");
    p.put(NodeConfig.QUORUM_ADDRESS, "127.0.0.1:" + quorumPorts[id - 1]);
    p.put(NodeConfig.QUORUM_VOTERS, voters);
    p.put(NodeConfig.DATA_DIR, dataDir(id).toString());
    p.putAll(overrides);
    return NodeConfig.of(p);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The quorum.voters value every node is configured with (id@host:port,...). */
  public String voters() {
    return voters;
  }

  /** The number of nodes, quorum-only ones included. */
  public int size() {
    return nodes.length;
  }

  /** The number of brokers: nodes 1 to this. */
  public int brokers() {
    return brokers;
  }

  /** The running node {@code id}, or null when stopped. */
  public BrookNode node(int id) {
    return nodes[id - 1];
  }

  public Path dataDir(int id) {
    return dir.resolve("node" + id);
  }

  /** The directory of a partition's log on node {@code id}. */
  public Path logDir(int id, String topic, int partition) {
    return dataDir(id).resolve("logs").resolve(topic + "-" + partition);
  }

  /** Stops node {@code id} the normal way (controlled shutdown: its leaderships move first). */
  public void stop(int id) {
    BrookNode n = nodes[id - 1];
    nodes[id - 1] = null;
    closeChannel(id);
    if (n != null) n.close();
  }

  /** Starts node {@code id} again on its data directory and waits until it is admitted. */
  public BrookNode restart(int id) throws IOException {
    if (nodes[id - 1] != null) throw new IllegalStateException("node " + id + " is running");
    BrookNode n = BrookNode.start(config(id));
    nodes[id - 1] = n;
    n.awaitReady(60_000);
    return n;
  }

  /** The latest metadata image of any running node (each node is a quorum peer). */
  public MetadataImage image() {
    MetadataImage best = null;
    for (BrookNode n : nodes) {
      if (n == null || n.quorum() == null) continue;
      MetadataImage im = n.quorum().client().image();
      if (best == null || im.version() > best.version()) best = im;
    }
    return best;
  }

  /** A partition's state in {@link #image()}, or null. */
  public PartitionImage partition(String topic, int partition) {
    MetadataImage im = image();
    TopicImage t = im == null ? null : im.topic(topic);
    return t == null || partition >= t.partitions().size() ? null : t.partitions().get(partition);
  }

  /** A plaintext channel to node {@code id}'s broker, owned (and closed) by the cluster. */
  public ManagedChannel channel(int id) {
    return channels.computeIfAbsent(id, k -> ManagedChannelBuilder.forTarget(node(k).brokerAddress()).usePlaintext().build());
  }

  private void closeChannel(int id) {
    ManagedChannel ch = channels.remove(id);
    if (ch != null) ch.shutdownNow();
  }

  /**
   * Stops every running node, in parallel: the brokers first, then the quorum-only nodes, which
   * keep the quorum's majority while the brokers' controlled shutdowns need it.
   */
  @Override
  public void close() {
    for (int id : new ArrayList<>(channels.keySet())) closeChannel(id);
    RuntimeException failure = null;
    for (int[] range : new int[][] {{0, brokers}, {brokers, nodes.length}}) {
      List<CompletableFuture<Void>> closing = new ArrayList<>();
      for (int i = range[0]; i < range[1]; i++) {
        BrookNode n = nodes[i];
        nodes[i] = null;
        if (n != null) closing.add(CompletableFuture.runAsync(n::close));
      }
      try {
        CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        if (failure == null) failure = new IllegalStateException("cluster did not stop cleanly", e);
      }
    }
    if (failure != null) throw failure;
  }
}
