package dev.brook.broker.server;

import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who a data dir belongs to: {@code data.dir/meta.properties} (Kafka keeps the same facts in its
 * meta.properties: cluster.id, node.id, directory.id), written once and checked at every start.
 *
 * <pre>
 * version=1
 * node.id=2
 * incarnation.id=5f0c...        (a random UUID, created with the file)
 * cluster.id=3e9a...            (added at the node's first registration with the quorum)
 * </pre>
 *
 * <p>Invariants: a data dir belongs to exactly one node id and, from its first registration on,
 * to exactly one cluster; its incarnation id never changes, so a restart on the same data dir
 * (after kill -9, say) is the same incarnation, while another process started with the same
 * node.id, or the node restarted on a new (wiped, replaced) disk, is another one. The metadata
 * quorum refuses a second incarnation of a node id while the first holds a live lease, and a
 * node whose cluster id is not the quorum's.
 *
 * <p>{@link #open} refuses a data dir of another node id, and {@link #recordClusterId} one of
 * another cluster, each with a one-line {@link ConfigException} naming the file and both values.
 * The file is replaced atomically (write a temporary file, fsync, rename, fsync the directory),
 * so a crash leaves the old or the new version, never a torn one.
 *
 * <p>Thread-safe.
 */
public final class NodeIdentity {
  private static final Logger LOG = LoggerFactory.getLogger(NodeIdentity.class);
  static final String FILE_NAME = "meta.properties";
  static final int VERSION = 1;
  static final String KEY_VERSION = "version";
  static final String KEY_NODE_ID = "node.id";
  static final String KEY_INCARNATION_ID = "incarnation.id";
  static final String KEY_CLUSTER_ID = "cluster.id";

  private final Path file;
  private final int nodeId;
  private final String incarnationId;
  private volatile String clusterId;

  private NodeIdentity(Path file, int nodeId, String incarnationId, String clusterId) {
    this.file = file;
    this.nodeId = nodeId;
    this.incarnationId = incarnationId;
    this.clusterId = clusterId;
  }

  /** Reads {@code dataDir/meta.properties}, or creates it with a new incarnation id; see the class doc. */
  public static NodeIdentity open(Path dataDir, int nodeId) throws IOException {
    return open(dataDir, nodeId, () -> UUID.randomUUID().toString());
  }

  static NodeIdentity open(Path dataDir, int nodeId, Supplier<String> newIncarnationId) throws IOException {
    Path file = dataDir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      Files.createDirectories(dataDir);
      NodeIdentity created = new NodeIdentity(file, nodeId, newIncarnationId.get(), "");
      created.write();
      LOG.info("node {}: new data dir {}, incarnation {}", nodeId, dataDir, created.incarnationId);
      return created;
    }
    Properties p = new Properties();
    try {
      p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
    } catch (IllegalArgumentException | java.nio.charset.MalformedInputException e) {
      throw new ConfigException(file + " is not a readable properties file: " + e.getMessage());
    }
    String version = p.getProperty(KEY_VERSION, "").trim();
    if (!String.valueOf(VERSION).equals(version)) {
      throw new ConfigException(file + " has version=" + version + "; this Brook reads version=" + VERSION);
    }
    String storedId = p.getProperty(KEY_NODE_ID, "").trim();
    if (!storedId.equals(String.valueOf(nodeId))) {
      throw new ConfigException("data dir " + dataDir + " belongs to node.id " + storedId + " (" + file
          + "), but this node is configured with node.id " + nodeId);
    }
    String incarnation = p.getProperty(KEY_INCARNATION_ID, "").trim();
    if (incarnation.isEmpty()) throw new ConfigException(file + " has no " + KEY_INCARNATION_ID);
    return new NodeIdentity(file, nodeId, incarnation, p.getProperty(KEY_CLUSTER_ID, "").trim());
  }

  public int nodeId() {
    return nodeId;
  }

  public String incarnationId() {
    return incarnationId;
  }

  /** The cluster this data dir belongs to, empty before the node's first registration. */
  public String clusterId() {
    return clusterId;
  }

  public Path file() {
    return file;
  }

  /**
   * The quorum accepted a registration and said its cluster id: stores it at the first
   * registration; refuses ({@link ConfigException}) an id that differs from the stored one.
   * An empty id (the quorum was not initialized yet) changes nothing.
   */
  public synchronized void recordClusterId(String quorumClusterId) throws IOException {
    if (quorumClusterId == null || quorumClusterId.isEmpty() || quorumClusterId.equals(clusterId)) return;
    if (!clusterId.isEmpty()) {
      throw new ConfigException("data dir " + file.getParent() + " belongs to cluster.id " + clusterId + " (" + file
          + "), but the metadata quorum is cluster " + quorumClusterId);
    }
    String before = clusterId;
    clusterId = quorumClusterId;
    try {
      write();
    } catch (IOException e) {
      clusterId = before;
      throw e;
    }
    LOG.info("node {}: data dir {} joined cluster {}", nodeId, file.getParent(), quorumClusterId);
  }

  private void write() throws IOException {
    StringBuilder sb = new StringBuilder()
        .append("# Brook node identity: written by Brook, checked at every start. Do not edit or copy.\n")
        .append(KEY_VERSION).append('=').append(VERSION).append('\n')
        .append(KEY_NODE_ID).append('=').append(nodeId).append('\n')
        .append(KEY_INCARNATION_ID).append('=').append(incarnationId).append('\n');
    if (!clusterId.isEmpty()) sb.append(KEY_CLUSTER_ID).append('=').append(clusterId).append('\n');
    Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(StandardCharsets.UTF_8.encode(sb.toString()));
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      // Some file systems cannot fsync a directory: the rename is still atomic.
    }
  }
}
