package dev.brook.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Three nodes with both roles (quorum and broker), each a separate {@link BrookProcess} started
 * from its own config file in {@code dir}, as an operator runs them: node ids 1..3, every port an
 * ephemeral one on 127.0.0.1 chosen when the configs are written (so a restarted node comes back
 * at the same addresses), data in {@code dir/data<id>}, output in {@code dir/node<id>.log}.
 *
 * <p>{@link #close()} kills (SIGKILL) every process this cluster started and nothing else.
 */
final class ProcessCluster implements AutoCloseable {
  static final int SIZE = 3;

  private final Path dir;
  private final String voters;
  private final String[] brokerAddresses = new String[SIZE];
  private final Path[] configs = new Path[SIZE];
  private final BrookProcess[] nodes = new BrookProcess[SIZE];

  /**
   * Writes the three nodes' config files; {@code extra} is added to each (e.g.
   * {@code min.insync.replicas}, session timeouts).
   */
  ProcessCluster(Path dir, Map<String, String> extra) throws IOException {
    this.dir = dir;
    int[] brokerPorts = new int[SIZE];
    int[] quorumPorts = new int[SIZE];
    for (int i = 0; i < SIZE; i++) {
      brokerPorts[i] = freePort();
      quorumPorts[i] = freePort();
    }
    voters = IntStream.range(0, SIZE).mapToObj(i -> (i + 1) + "@127.0.0.1:" + quorumPorts[i])
        .collect(Collectors.joining(","));
    for (int i = 0; i < SIZE; i++) {
      int id = i + 1;
      brokerAddresses[i] = "127.0.0.1:" + brokerPorts[i];
      Map<String, String> props = new LinkedHashMap<>();
      props.put("node.id", String.valueOf(id));
      props.put("roles", "quorum,broker");
      props.put("broker.address", brokerAddresses[i]);
      props.put("quorum.address", "127.0.0.1:" + quorumPorts[i]);
      props.put("quorum.voters", voters);
      props.put("data.dir", dataDir(id).toString());
      props.putAll(extra);
      configs[i] = writeConfig(dir.resolve("node" + id + ".properties"), props);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Path writeConfig(Path file, Map<String, String> props) throws IOException {
    StringBuilder sb = new StringBuilder();
    props.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    return Files.writeString(file, sb.toString());
  }

  /**
   * Writes the config of a node with the broker role only, which reaches the quorum through this
   * cluster's voters, and returns its path.
   */
  Path writeBrokerOnlyConfig(int id) throws IOException {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("node.id", String.valueOf(id));
    props.put("roles", "broker");
    props.put("broker.address", "127.0.0.1:" + freePort());
    props.put("quorum.voters", voters);
    props.put("data.dir", dataDir(id).toString());
    return writeConfig(dir.resolve("node" + id + ".properties"), props);
  }

  /** Starts all three nodes and waits until each broker is ready (the quorum needs a majority). */
  void start() throws IOException, InterruptedException {
    for (int id = 1; id <= SIZE; id++) {
      nodes[id - 1] = BrookProcess.startServer(configs[id - 1], logFile(id));
    }
    for (BrookProcess n : nodes) n.awaitReady();
  }

  /** Starts node {@code id} again on its config and data dir (after a kill) and waits until it is ready. */
  void restart(int id) throws IOException, InterruptedException {
    if (nodes[id - 1] != null && nodes[id - 1].isAlive()) {
      throw new IllegalStateException("node " + id + " is still running");
    }
    nodes[id - 1] = null;
    nodes[id - 1] = BrookProcess.startServer(configs[id - 1], logFile(id)).awaitReady();
  }

  /** SIGKILL of node {@code id}; returns once the process is gone. */
  void kill9(int id) {
    BrookProcess n = nodes[id - 1];
    if (n != null) n.kill9();
  }

  /** SIGTERM of node {@code id} (controlled shutdown), SIGKILL if it does not exit in time. */
  void stop(int id) {
    BrookProcess n = nodes[id - 1];
    if (n != null) n.close();
  }

  /** Stops every node with SIGTERM, all at once (SIGKILL for any that does not exit in time). */
  void stopAll() throws InterruptedException {
    List<Thread> stoppers = new ArrayList<>();
    for (int id = 1; id <= SIZE; id++) {
      int node = id;
      Thread t = new Thread(() -> stop(node), "stop-node-" + id);
      t.start();
      stoppers.add(t);
    }
    for (Thread t : stoppers) t.join();
  }

  /** The running process of node {@code id}, or null. */
  BrookProcess node(int id) {
    return nodes[id - 1];
  }

  /** Node {@code id}'s configured broker address, whether it runs or not. */
  String brokerAddress(int id) {
    return brokerAddresses[id - 1];
  }

  /** Every broker's address, comma-separated. */
  String bootstrap() {
    return String.join(",", brokerAddresses);
  }

  /** Every broker's address but node {@code id}'s, comma-separated. */
  String bootstrapWithout(int id) {
    return IntStream.rangeClosed(1, SIZE).filter(i -> i != id).mapToObj(this::brokerAddress)
        .collect(Collectors.joining(","));
  }

  Path config(int id) {
    return configs[id - 1];
  }

  Path dataDir(int id) {
    return dir.resolve("data" + id);
  }

  Path logFile(int id) {
    return dir.resolve("node" + id + ".log");
  }

  /** Prints the last {@code lines} lines of each node's output, for a failed test's report. */
  void printLogTails(int lines) {
    for (int id = 1; id <= SIZE; id++) {
      Path log = logFile(id);
      try {
        List<String> all = Files.exists(log) ? Files.readAllLines(log) : List.of();
        System.out.println("----- last " + Math.min(lines, all.size()) + " lines of node " + id + " (" + log + ") -----");
        all.subList(Math.max(0, all.size() - lines), all.size()).forEach(System.out::println);
      } catch (IOException | RuntimeException e) {
        System.out.println("----- cannot read " + log + ": " + e);
      }
    }
  }

  /** SIGKILL of every node this cluster started. */
  @Override
  public void close() {
    for (BrookProcess n : nodes) {
      if (n != null) n.kill9();
    }
  }
}
