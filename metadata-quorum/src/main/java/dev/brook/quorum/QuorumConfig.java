package dev.brook.quorum;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The configuration of one metadata quorum peer. Immutable; built with {@link #builder()} and
 * validated by {@link Builder#build()}, which throws an {@link IllegalArgumentException} naming the
 * offending key (the names are those of the server properties file: {@code node.id},
 * {@code quorum.address}, {@code quorum.voters}, {@code data.dir}, ...).
 *
 * <p>Every default is documented on its constant. Port 0 in {@code quorum.address} lets the
 * operating system pick a port, which is only possible when this node is the single voter (other
 * voters could not know where to connect); tests use it.
 */
public final class QuorumConfig {
  /** Default of {@code quorum.snapshot.threshold.entries}: log entries between two snapshots. */
  public static final long DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES = 10_000;
  /** Default of {@code quorum.request.timeout.ms}: how long a client call waits for the quorum. */
  public static final long DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
  /**
   * Default of {@code quorum.broker.session.timeout.ms}: a broker whose last heartbeat is older
   * than this is fenced by the quorum leader (its leaderships move to other in-sync replicas).
   * Brokers should heartbeat several times per session (e.g. every 1/4 of it).
   */
  public static final long DEFAULT_BROKER_SESSION_TIMEOUT_MS = 6_000;
  /**
   * Default of {@code quorum.leader.imbalance.check.interval.ms}: how often the quorum leader moves
   * leadership back to preferred replicas that are active and in sync.
   */
  public static final long DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_MS = 5_000;
  /** Cluster default for topics created with partitions = 0. */
  public static final String NUM_PARTITIONS = "num.partitions";
  /** Cluster default for topics created with replication_factor = 0. */
  public static final String DEFAULT_REPLICATION_FACTOR = "default.replication.factor";

  /** One voting member of the quorum: its node id and Ratis endpoint. */
  public record Voter(int id, String host, int port) {
    public Voter {
      if (id < 0) throw new IllegalArgumentException("quorum.voters: node id must be >= 0, got " + id);
      if (host == null || host.isBlank()) throw new IllegalArgumentException("quorum.voters: voter " + id + " has no host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("quorum.voters: voter " + id + " port must be 0..65535, got " + port);
      }
    }

    /** Parses {@code id@host:port}, the form of one {@code quorum.voters} element. */
    public static Voter parse(String spec) {
      String s = spec.trim();
      int at = s.indexOf('@');
      if (at <= 0) throw new IllegalArgumentException("quorum.voters: expected id@host:port, got '" + spec + "'");
      int id;
      try {
        id = Integer.parseInt(s.substring(0, at));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("quorum.voters: node id in '" + spec + "' is not a number");
      }
      HostPort hp = HostPort.parse("quorum.voters", s.substring(at + 1));
      return new Voter(id, hp.host, hp.port);
    }

    /** {@code host:port}. */
    public String address() {
      return host + ":" + port;
    }
  }

  /**
   * How a broker-only node (no local quorum peer) reaches the voters: {@link MetadataQuorum#connect}.
   *
   * @param voters every voting member (quorum.voters); not empty
   * @param requestTimeoutMs quorum.request.timeout.ms: bound of every call, >= 1
   * @param clientNodeId this node's node.id, for logs and thread names only (-1 when none)
   */
  public record ClientConfig(List<Voter> voters, long requestTimeoutMs, int clientNodeId) {
    public ClientConfig {
      voters = List.copyOf(voters);
      if (voters.isEmpty()) throw new IllegalArgumentException("quorum.voters is required");
      Set<Integer> ids = new HashSet<>();
      for (Voter v : voters) {
        if (!ids.add(v.id())) throw new IllegalArgumentException("quorum.voters: node id " + v.id() + " appears twice");
        if (v.port() == 0) throw new IllegalArgumentException("quorum.voters: voter " + v.id() + " needs a port");
      }
      if (requestTimeoutMs < 1) {
        throw new IllegalArgumentException("quorum.request.timeout.ms must be >= 1, got " + requestTimeoutMs);
      }
    }

    /** The voters and defaults: request timeout {@value QuorumConfig#DEFAULT_REQUEST_TIMEOUT_MS} ms, no node id. */
    public static ClientConfig of(List<Voter> voters) {
      return new ClientConfig(voters, DEFAULT_REQUEST_TIMEOUT_MS, -1);
    }
  }

  /** Parses a comma-separated {@code quorum.voters} value, e.g. {@code 1@h1:9093,2@h2:9093}. */
  public static List<Voter> parseVoters(String spec) {
    List<Voter> out = new ArrayList<>();
    for (String part : spec.split(",")) {
      if (!part.isBlank()) out.add(Voter.parse(part));
    }
    return out;
  }

  private final int nodeId;
  private final String quorumHost;
  private final int quorumPort;
  private final List<Voter> voters;
  private final Path dataDir;
  private final long snapshotThresholdEntries;
  private final long requestTimeoutMs;
  private final long brokerSessionTimeoutMs;
  private final long leaderImbalanceCheckIntervalMs;
  private final Map<String, String> clusterDefaults;

  private QuorumConfig(Builder b, HostPort address, List<Voter> voters) {
    this.nodeId = b.nodeId;
    this.quorumHost = address.host;
    this.quorumPort = address.port;
    this.voters = voters;
    this.dataDir = b.dataDir;
    this.snapshotThresholdEntries = b.snapshotThresholdEntries;
    this.requestTimeoutMs = b.requestTimeoutMs;
    this.brokerSessionTimeoutMs = b.brokerSessionTimeoutMs;
    this.leaderImbalanceCheckIntervalMs = b.leaderImbalanceCheckIntervalMs;
    this.clusterDefaults = Collections.unmodifiableMap(new TreeMap<>(b.clusterDefaults));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code node.id}: this node's id, unique in the cluster, >= 0. Required. */
  public int nodeId() {
    return nodeId;
  }

  /** {@code quorum.address}: host:port the Ratis server listens on. Required. */
  public String quorumAddress() {
    return quorumHost + ":" + quorumPort;
  }

  String quorumHost() {
    return quorumHost;
  }

  int quorumPort() {
    return quorumPort;
  }

  /**
   * {@code quorum.voters}: every voting member, this node included; sorted by id. Default: this
   * node alone (a single-voter quorum).
   */
  public List<Voter> voters() {
    return voters;
  }

  /** {@code data.dir}: the node's data directory; the quorum keeps its files in {@code data.dir/quorum}. Required. */
  public Path dataDir() {
    return dataDir;
  }

  /** {@code quorum.snapshot.threshold.entries}: applied entries between two automatic snapshots, >= 1. */
  public long snapshotThresholdEntries() {
    return snapshotThresholdEntries;
  }

  /** {@code quorum.request.timeout.ms}: how long a MetadataClient call waits for the quorum, >= 1. */
  public long requestTimeoutMs() {
    return requestTimeoutMs;
  }

  /**
   * {@code quorum.broker.session.timeout.ms}: a broker not heard from for this long is fenced,
   * >= 100. Default {@value #DEFAULT_BROKER_SESSION_TIMEOUT_MS}. A new quorum leader counts each
   * broker's session from the last heartbeat copy it received as a follower, or gives it a full
   * session when it has none.
   */
  public long brokerSessionTimeoutMs() {
    return brokerSessionTimeoutMs;
  }

  /**
   * {@code quorum.leader.imbalance.check.interval.ms}: period of the preferred-leader restore,
   * >= 10. Default {@value #DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_MS}.
   */
  public long leaderImbalanceCheckIntervalMs() {
    return leaderImbalanceCheckIntervalMs;
  }

  /**
   * Cluster-wide defaults: topic config defaults (keys of {@code dev.brook.protocol.TopicConfig})
   * plus {@code num.partitions} (default 1) and {@code default.replication.factor} (default 1).
   */
  public Map<String, String> clusterDefaults() {
    return clusterDefaults;
  }

  /** The partition count used when a request says 0. */
  int defaultPartitions() {
    return Integer.parseInt(clusterDefaults.getOrDefault(NUM_PARTITIONS, "1").trim());
  }

  /** The replication factor used when a request says 0. */
  int defaultReplicationFactor() {
    return Integer.parseInt(clusterDefaults.getOrDefault(DEFAULT_REPLICATION_FACTOR, "1").trim());
  }

  @Override
  public String toString() {
    return "QuorumConfig{node.id=" + nodeId + ", quorum.address=" + quorumAddress() + ", quorum.voters=" + voters
        + ", data.dir=" + dataDir + ", snapshotThresholdEntries=" + snapshotThresholdEntries
        + ", requestTimeoutMs=" + requestTimeoutMs + ", brokerSessionTimeoutMs=" + brokerSessionTimeoutMs
        + ", leaderImbalanceCheckIntervalMs=" + leaderImbalanceCheckIntervalMs + "}";
  }

  /** Mutable builder; {@link #build()} validates. */
  public static final class Builder {
    private int nodeId = -1;
    private String quorumAddress;
    private List<Voter> voters = List.of();
    private Path dataDir;
    private long snapshotThresholdEntries = DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES;
    private long requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
    private long brokerSessionTimeoutMs = DEFAULT_BROKER_SESSION_TIMEOUT_MS;
    private long leaderImbalanceCheckIntervalMs = DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_MS;
    private Map<String, String> clusterDefaults = Map.of();

    private Builder() {}

    public Builder nodeId(int nodeId) {
      this.nodeId = nodeId;
      return this;
    }

    public Builder quorumAddress(String hostPort) {
      this.quorumAddress = hostPort;
      return this;
    }

    public Builder voters(List<Voter> voters) {
      this.voters = List.copyOf(voters);
      return this;
    }

    public Builder dataDir(Path dataDir) {
      this.dataDir = dataDir;
      return this;
    }

    public Builder snapshotThresholdEntries(long entries) {
      this.snapshotThresholdEntries = entries;
      return this;
    }

    public Builder requestTimeoutMs(long ms) {
      this.requestTimeoutMs = ms;
      return this;
    }

    public Builder brokerSessionTimeoutMs(long ms) {
      this.brokerSessionTimeoutMs = ms;
      return this;
    }

    public Builder leaderImbalanceCheckIntervalMs(long ms) {
      this.leaderImbalanceCheckIntervalMs = ms;
      return this;
    }

    public Builder clusterDefaults(Map<String, String> defaults) {
      this.clusterDefaults = Map.copyOf(defaults);
      return this;
    }

    public QuorumConfig build() {
      if (nodeId < 0) throw new IllegalArgumentException("node.id is required and must be >= 0, got " + nodeId);
      if (quorumAddress == null) throw new IllegalArgumentException("quorum.address is required (host:port)");
      HostPort address = HostPort.parse("quorum.address", quorumAddress);
      if (dataDir == null) throw new IllegalArgumentException("data.dir is required");
      if (snapshotThresholdEntries < 1) {
        throw new IllegalArgumentException("quorum.snapshot.threshold.entries must be >= 1, got " + snapshotThresholdEntries);
      }
      if (requestTimeoutMs < 1) {
        throw new IllegalArgumentException("quorum.request.timeout.ms must be >= 1, got " + requestTimeoutMs);
      }
      if (brokerSessionTimeoutMs < 100) {
        throw new IllegalArgumentException("quorum.broker.session.timeout.ms must be >= 100, got " + brokerSessionTimeoutMs);
      }
      if (leaderImbalanceCheckIntervalMs < 10) {
        throw new IllegalArgumentException("quorum.leader.imbalance.check.interval.ms must be >= 10, got "
            + leaderImbalanceCheckIntervalMs);
      }
      List<Voter> vs = voters.isEmpty() ? List.of(new Voter(nodeId, address.host, address.port)) : voters;
      Set<Integer> ids = new HashSet<>();
      Voter self = null;
      for (Voter v : vs) {
        if (!ids.add(v.id())) throw new IllegalArgumentException("quorum.voters: node id " + v.id() + " appears twice");
        if (v.id() == nodeId) self = v;
        if (v.port() == 0 && vs.size() > 1) {
          throw new IllegalArgumentException("quorum.voters: port 0 is only allowed for a single voter, voter " + v.id());
        }
      }
      if (vs.size() > 9) {
        throw new IllegalArgumentException("quorum.voters: at most 9 voters are supported, got " + vs.size());
      }
      if (self == null) {
        throw new IllegalArgumentException("quorum.voters must include this node (node.id=" + nodeId + ")");
      }
      if (self.port() != address.port) {
        throw new IllegalArgumentException("quorum.address port " + address.port + " differs from this node's entry in quorum.voters ("
            + self.address() + ")");
      }
      if (address.port == 0 && vs.size() > 1) {
        throw new IllegalArgumentException("quorum.address: port 0 is only allowed when this node is the single voter");
      }
      checkPositiveInt(NUM_PARTITIONS);
      checkPositiveInt(DEFAULT_REPLICATION_FACTOR);
      Map<String, String> topicDefaults = new TreeMap<>(clusterDefaults);
      topicDefaults.remove(NUM_PARTITIONS);
      topicDefaults.remove(DEFAULT_REPLICATION_FACTOR);
      String reason = dev.brook.protocol.TopicConfig.invalidReason(topicDefaults);
      if (reason != null) throw new IllegalArgumentException("cluster topic defaults: " + reason);
      List<Voter> sorted = new ArrayList<>(vs);
      sorted.sort((a, b) -> Integer.compare(a.id(), b.id()));
      return new QuorumConfig(this, address, List.copyOf(sorted));
    }

    private void checkPositiveInt(String key) {
      String v = clusterDefaults.get(key);
      if (v == null) return;
      try {
        if (Integer.parseInt(v.trim()) >= 1) return;
      } catch (NumberFormatException e) {
        // fall through
      }
      throw new IllegalArgumentException(key + " must be a whole number >= 1, got '" + v + "'");
    }
  }

  /** host:port, validated. */
  private record HostPort(String host, int port) {
    static HostPort parse(String key, String s) {
      Objects.requireNonNull(s, key);
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || colon == s.length() - 1) {
        throw new IllegalArgumentException(key + ": expected host:port, got '" + s + "'");
      }
      String host = s.substring(0, colon).trim();
      int port;
      try {
        port = Integer.parseInt(s.substring(colon + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(key + ": port in '" + s + "' is not a number");
      }
      if (port < 0 || port > 65535) throw new IllegalArgumentException(key + ": port must be 0..65535, got " + port);
      return new HostPort(host, port);
    }
  }
}
