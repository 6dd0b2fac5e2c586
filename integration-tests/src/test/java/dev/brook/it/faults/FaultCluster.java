package dev.brook.it.faults;

import dev.brook.client.Admin;
import dev.brook.client.ClusterDescription;
import dev.brook.client.PartitionInfo;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The three-node cluster of a fault run, like {@code dev.brook.it.ProcessCluster} (nodes 1..3,
 * each quorum and broker, ephemeral ports on 127.0.0.1, data in {@code dir/data<id>}, output in
 * {@code dir/node<id>.log}), with a {@link TcpProxy} for every ordered pair of nodes and kind of
 * traffic (broker: replication fetches and the brokers' own gRPC calls; quorum: Ratis): node A
 * reaches node B's ports only through the proxies A&rarr;B, so cutting them isolates nodes from
 * each other while clients, on the real addresses, still reach every node.
 */
final class FaultCluster implements AutoCloseable {
  static final int SIZE = 3;
  static final String BROKER = "broker";
  static final String QUORUM = "quorum";

  private final Path dir;
  private final int[] brokerPorts = new int[SIZE + 1];
  private final int[] quorumPorts = new int[SIZE + 1];
  private final Path[] configs = new Path[SIZE + 1];
  private final NodeProcess[] nodes = new NodeProcess[SIZE + 1];
  /** proxies.get("a>b:kind"). */
  private final Map<String, TcpProxy> proxies = new LinkedHashMap<>();
  private final boolean[] isolated = new boolean[SIZE + 1];
  private final String resolverClassPath;

  FaultCluster(Path dir, Map<String, String> extra) throws IOException {
    this.dir = dir;
    for (int id = 1; id <= SIZE; id++) {
      brokerPorts[id] = freePort();
      quorumPorts[id] = freePort();
    }
    String voters = IntStream.rangeClosed(1, SIZE).mapToObj(i -> i + "@127.0.0.1:" + quorumPorts[i])
        .collect(Collectors.joining(","));
    for (int a = 1; a <= SIZE; a++) {
      for (int b = 1; b <= SIZE; b++) {
        if (a == b) continue;
        proxies.put(key(a, b, BROKER), new TcpProxy(a + ">" + b + ":" + BROKER, brokerPorts[b]));
        proxies.put(key(a, b, QUORUM), new TcpProxy(a + ">" + b + ":" + QUORUM, quorumPorts[b]));
      }
    }
    for (int id = 1; id <= SIZE; id++) {
      Map<String, String> props = new LinkedHashMap<>();
      props.put("node.id", String.valueOf(id));
      props.put("roles", "quorum,broker");
      props.put("broker.address", "127.0.0.1:" + brokerPorts[id]);
      props.put("quorum.address", "127.0.0.1:" + quorumPorts[id]);
      props.put("quorum.voters", voters);
      props.put("data.dir", dataDir(id).toString());
      props.putAll(extra);
      StringBuilder sb = new StringBuilder();
      props.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
      configs[id] = Files.writeString(dir.resolve("node" + id + ".properties"), sb.toString());
    }
    java.net.URL services = FaultCluster.class.getResource("/faults-resolver/META-INF/services/io.grpc.NameResolverProvider");
    if (services == null || !"file".equals(services.getProtocol())) {
      throw new IllegalStateException("the routing resolver's service file is not on the class path as a file: " + services);
    }
    try {
      resolverClassPath = Path.of(services.toURI()).getParent().getParent().getParent().toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String key(int from, int to, String kind) {
    return from + ">" + to + ":" + kind;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private List<String> jvmArgs(int id) {
    List<String> routes = new ArrayList<>();
    for (int b = 1; b <= SIZE; b++) {
      if (b == id) continue;
      routes.add(brokerPorts[b] + "=" + proxies.get(key(id, b, BROKER)).port());
      routes.add(quorumPorts[b] + "=" + proxies.get(key(id, b, QUORUM)).port());
    }
    return List.of("-D" + Routes.PROPERTY + "=" + String.join(",", routes));
  }

  /** Starts every node and waits until each broker is ready. */
  void start(long timeoutMs) throws IOException, InterruptedException {
    for (int id = 1; id <= SIZE; id++) startNode(id);
    for (int id = 1; id <= SIZE; id++) {
      if (!nodes[id].awaitReady(timeoutMs)) throw new IllegalStateException("node " + id + " did not become ready; see " + logFile(id));
    }
  }

  /** Starts node {@code id} (after a kill) without waiting. */
  void startNode(int id) throws IOException {
    if (nodes[id] != null && nodes[id].isAlive()) throw new IllegalStateException("node " + id + " is still running");
    nodes[id] = NodeProcess.start(configs[id], logFile(id), resolverClassPath, jvmArgs(id));
  }

  /** When node {@code id}'s current process became ready (nanoTime), or -1. */
  long readyNanos(int id) {
    return nodes[id] == null ? -1 : nodes[id].readyNanos();
  }

  boolean awaitReady(int id, long timeoutMs) throws InterruptedException {
    return nodes[id] != null && nodes[id].awaitReady(timeoutMs);
  }

  void kill9(int id) {
    if (nodes[id] != null) nodes[id].kill9();
  }

  /** SIGTERM (controlled shutdown), SIGKILL after {@code timeoutMs}. */
  void stop(int id, long timeoutMs) {
    if (nodes[id] != null) nodes[id].stop(timeoutMs);
  }

  void pause(int id) {
    nodes[id].pause();
  }

  void resume(int id) {
    if (nodes[id] != null) nodes[id].resume();
  }

  boolean isRunning(int id) {
    return nodes[id] != null && nodes[id].isAlive();
  }

  /** Running, not paused, not isolated: its answers reflect the cluster. */
  boolean isUp(int id) {
    return isRunning(id) && !nodes[id].paused() && !isolated[id];
  }

  /** Cuts (or with {@link TcpProxy.Mode#OPEN} restores) every link between node {@code id} and its peers. */
  void isolate(int id, TcpProxy.Mode mode) {
    isolated[id] = mode != TcpProxy.Mode.OPEN;
    for (int b = 1; b <= SIZE; b++) {
      if (b == id) continue;
      for (String kind : List.of(BROKER, QUORUM)) {
        proxies.get(key(id, b, kind)).setMode(mode);
        proxies.get(key(b, id, kind)).setMode(mode);
      }
    }
  }

  /** Restores every link. */
  void healNetwork() {
    for (TcpProxy p : proxies.values()) p.setMode(TcpProxy.Mode.OPEN);
    java.util.Arrays.fill(isolated, false);
  }

  /** SIGTERM to every running node at once (SIGKILL after {@code timeoutMs}). */
  void stopAll(long timeoutMs) throws InterruptedException {
    List<Thread> ts = new ArrayList<>();
    for (int id = 1; id <= SIZE; id++) {
      NodeProcess n = nodes[id];
      if (n == null) continue;
      Thread t = new Thread(() -> n.stop(timeoutMs), "stop-node-" + id);
      t.start();
      ts.add(t);
    }
    for (Thread t : ts) t.join();
  }

  String brokerAddress(int id) {
    return "127.0.0.1:" + brokerPorts[id];
  }

  /** The addresses of the nodes that are up (all nodes if none is). */
  String bootstrap() {
    String up = IntStream.rangeClosed(1, SIZE).filter(this::isUp).mapToObj(this::brokerAddress).collect(Collectors.joining(","));
    return up.isEmpty() ? allAddresses() : up;
  }

  String allAddresses() {
    return IntStream.rangeClosed(1, SIZE).mapToObj(this::brokerAddress).collect(Collectors.joining(","));
  }

  /** The partitions of {@code topic} as the nodes that are up describe them, sorted. */
  List<PartitionInfo> describe(String topic) throws Exception {
    try (Admin admin = Admin.create(bootstrap())) {
      return admin.describeTopics(List.of(topic)).get(5, TimeUnit.SECONDS).get(topic).partitions().stream()
          .sorted(Comparator.comparingInt(PartitionInfo::partition)).toList();
    }
  }

  /** The Raft leader of the metadata quorum, or -1. */
  int quorumLeader() throws Exception {
    try (Admin admin = Admin.create(bootstrap())) {
      ClusterDescription c = admin.describeCluster().get(5, TimeUnit.SECONDS);
      return c.quorumLeaderId();
    }
  }

  /** Every partition led and with every node in its ISR. */
  boolean healthy(String topic, int partitions) {
    try {
      List<PartitionInfo> ps = describe(topic);
      if (ps.size() != partitions) return false;
      for (PartitionInfo p : ps) {
        if (p.leaderId() <= 0 || p.isr().size() != SIZE) return false;
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** Polls {@link #healthy} until it holds or {@code timeoutMs} passed; the time it took, or -1. */
  long awaitHealthy(String topic, int partitions, long timeoutMs) throws InterruptedException {
    long t0 = System.nanoTime();
    long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < deadline) {
      if (healthy(topic, partitions)) return (System.nanoTime() - t0) / 1_000_000;
      Thread.sleep(200); // poll interval of a deadline-bounded wait
    }
    return -1;
  }

  Path dir() {
    return dir;
  }

  Path dataDir(int id) {
    return dir.resolve("data" + id);
  }

  Path logFile(int id) {
    return dir.resolve("node" + id + ".log");
  }

  /** Connections and bytes each proxy forwarded so far (proves the nodes' traffic goes through them). */
  String proxyStats() {
    List<String> out = new ArrayList<>();
    proxies.forEach((k, p) -> out.add(k + "=" + p.connections.get() + "c/" + p.bytes.get() + "B"));
    return String.join(" ", out);
  }

  /** SIGKILL of every node this cluster started, and the proxies closed. */
  @Override
  public void close() {
    for (int id = 1; id <= SIZE; id++) {
      if (nodes[id] != null) nodes[id].kill9();
    }
    for (TcpProxy p : proxies.values()) p.close();
  }
}
