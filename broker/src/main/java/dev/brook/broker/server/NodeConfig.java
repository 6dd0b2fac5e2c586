package dev.brook.broker.server;

import dev.brook.broker.replica.ReplicationConfig;
import dev.brook.protocol.TopicConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The configuration of one Brook node, from a properties file (see docs/configuration.md). Every
 * key is validated when the node starts; a bad or missing key is a {@link ConfigException} that
 * names it. Unknown keys are errors too, so a typo never goes unnoticed.
 */
public final class NodeConfig {
  /** What a node does. */
  public enum Role { QUORUM, BROKER }

  /** A voter of the metadata quorum: {@code id@host:port}. */
  public record Voter(int id, String host, int port) {
    @Override
    public String toString() {
      return id + "@" + host + ":" + port;
    }
  }

  /** A documented key: its default (null = required or no default) and what it means. */
  public record Key(String name, String defaultValue, String doc) {}

  public static final String NODE_ID = "node.id";
  public static final String ROLES = "roles";
  public static final String BROKER_ADDRESS = "broker.address";
  public static final String QUORUM_ADDRESS = "quorum.address";
  public static final String QUORUM_VOTERS = "quorum.voters";
  public static final String DATA_DIR = "data.dir";
  public static final String RACK = "rack";
  public static final String NUM_PARTITIONS = "num.partitions";
  public static final String DEFAULT_REPLICATION_FACTOR = "default.replication.factor";
  public static final String RETENTION_CHECK_INTERVAL_MS = "log.retention.check.interval.ms";
  public static final String MAX_REQUEST_BYTES = "max.request.bytes";
  public static final String QUORUM_SNAPSHOT_THRESHOLD = "quorum.snapshot.threshold.entries";
  public static final String QUORUM_REQUEST_TIMEOUT_MS = "quorum.request.timeout.ms";
  public static final String AUTO_CREATE_TOPICS = "auto.create.topics.enable";
  public static final String HEARTBEAT_INTERVAL_MS = "broker.heartbeat.interval.ms";
  public static final String SESSION_TIMEOUT_MS = "broker.session.timeout.ms";
  public static final String LEADER_IMBALANCE_CHECK_INTERVAL_MS = "leader.imbalance.check.interval.ms";
  public static final String REPLICA_LAG_TIME_MAX_MS = "replica.lag.time.max.ms";
  public static final String CONTROLLED_SHUTDOWN_TIMEOUT_MS = "controlled.shutdown.timeout.ms";
  public static final String REPLICA_FETCH_WAIT_MAX_MS = "replica.fetch.wait.max.ms";
  public static final String REPLICA_FETCH_MIN_BYTES = "replica.fetch.min.bytes";
  public static final String REPLICA_FETCH_MAX_BYTES = "replica.fetch.max.bytes";
  public static final String REPLICA_FETCH_RESPONSE_MAX_BYTES = "replica.fetch.response.max.bytes";
  public static final String REPLICA_FETCH_BACKOFF_MS = "replica.fetch.backoff.ms";
  public static final String REPLICA_SOCKET_TIMEOUT_MS = "replica.socket.timeout.ms";
  public static final String FLUSH_SCHEDULER_INTERVAL_MS = "log.flush.scheduler.interval.ms";
  public static final String REPLICA_DISCONNECT_TIMEOUT_MS = "replica.disconnect.timeout.ms";
  public static final String SCRUBBER_ENABLE = "log.scrubber.enable";
  public static final String SCRUBBER_BYTES_PER_SECOND = "log.scrubber.bytes.per.second";
  public static final String SCRUBBER_INTERVAL_MS = "log.scrubber.interval.ms";
  public static final String GROUP_SESSION_TIMEOUT_MS = "group.consumer.session.timeout.ms";
  public static final String GROUP_HEARTBEAT_INTERVAL_MS = "group.consumer.heartbeat.interval.ms";

  /** Broker-level defaults for topic configs, named as in Kafka; a topic may override each. */
  private static final Map<String, String> TOPIC_DEFAULT_KEYS = Map.ofEntries(
      Map.entry("log.cleanup.policy", TopicConfig.CLEANUP_POLICY),
      Map.entry("log.retention.ms", TopicConfig.RETENTION_MS),
      Map.entry("log.retention.bytes", TopicConfig.RETENTION_BYTES),
      Map.entry("log.segment.bytes", TopicConfig.SEGMENT_BYTES),
      Map.entry("log.roll.ms", TopicConfig.SEGMENT_MS),
      Map.entry("message.max.bytes", TopicConfig.MAX_MESSAGE_BYTES),
      Map.entry("min.insync.replicas", TopicConfig.MIN_INSYNC_REPLICAS),
      Map.entry("log.index.interval.bytes", TopicConfig.INDEX_INTERVAL_BYTES),
      Map.entry("log.flush.interval.messages", TopicConfig.FLUSH_MESSAGES),
      Map.entry("log.flush.interval.ms", TopicConfig.FLUSH_MS),
      Map.entry("unclean.leader.election.enable", TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE));

  private static final Map<String, Key> KEYS = new LinkedHashMap<>();

  static {
    key(NODE_ID, null, "this node's id, unique in the cluster, >= 0 (required)");
    key(ROLES, "quorum,broker", "what this node runs: quorum, broker, or both (comma-separated)");
    key(BROKER_ADDRESS, null, "host:port of the gRPC produce/fetch/admin endpoint (required with the broker role)");
    key(QUORUM_ADDRESS, null, "host:port of the Ratis peer (required with the quorum role; must match this node's entry in quorum.voters)");
    key(QUORUM_VOTERS, null, "the metadata quorum: id@host:port,... with 1, 3 or 5 voters (required)");
    key(DATA_DIR, null, "where logs and quorum state are stored (required)");
    key(RACK, "", "the rack or zone of this broker, for rack-aware replica placement");
    key(NUM_PARTITIONS, "1", "partitions of a topic created without a count");
    key(DEFAULT_REPLICATION_FACTOR, "1", "replication factor of a topic created without one");
    key(RETENTION_CHECK_INTERVAL_MS, "300000", "how often the broker deletes segments past retention, in ms");
    key(MAX_REQUEST_BYTES, "104857600", "largest gRPC message the broker accepts, in bytes");
    key(QUORUM_SNAPSHOT_THRESHOLD, "10000", "Raft entries between automatic quorum snapshots");
    key(QUORUM_REQUEST_TIMEOUT_MS, "10000", "how long a metadata change may wait for the quorum, in ms");
    key(AUTO_CREATE_TOPICS, "true", "create a topic with the defaults when a producer asks for one that does not exist");
    key(HEARTBEAT_INTERVAL_MS, "1000", "how often a broker renews its lease with the metadata quorum, in ms");
    key(SESSION_TIMEOUT_MS, "6000", "a broker whose last heartbeat is older than this is fenced and loses its leaderships, in ms (quorum nodes)");
    key(LEADER_IMBALANCE_CHECK_INTERVAL_MS, "5000", "how often the quorum leader moves leadership back to preferred replicas, in ms (quorum nodes)");
    key(REPLICA_LAG_TIME_MAX_MS, "10000", "a follower that has not caught up with the leader for this long leaves the ISR, in ms");
    key(CONTROLLED_SHUTDOWN_TIMEOUT_MS, "10000", "how long a stopping broker waits for its leaderships to move to other replicas, in ms");
    key(REPLICA_FETCH_WAIT_MAX_MS, "500", "how long a leader holds a follower's fetch when it has nothing new, in ms (below replica.lag.time.max.ms)");
    key(REPLICA_FETCH_MIN_BYTES, "1", "bytes a leader waits for before answering a follower's fetch (up to replica.fetch.wait.max.ms)");
    key(REPLICA_FETCH_MAX_BYTES, "1048576", "bytes a follower asks for per partition and fetch (one batch more when the first is larger)");
    key(REPLICA_FETCH_RESPONSE_MAX_BYTES, "10485760", "bytes a follower asks for per fetch over all partitions");
    key(REPLICA_FETCH_BACKOFF_MS, "500", "how long a follower waits after a fetch error before it tries that leader again, in ms");
    key(REPLICA_SOCKET_TIMEOUT_MS, "30000", "a follower's fetch stream that answers nothing for replica.fetch.wait.max.ms plus this long is reopened, in ms");
    key(REPLICA_DISCONNECT_TIMEOUT_MS, "1500", "a follower whose fetch stream closed (its broker died or its connection broke) and that has not fetched again for this long leaves the ISR at once, in ms (larger than replica.fetch.wait.max.ms)");
    key(FLUSH_SCHEDULER_INTERVAL_MS, "1000", "how often the broker fsyncs logs whose flush.ms has passed without a new append, in ms");
    key(SCRUBBER_ENABLE, "false", "check the CRC of every batch in closed segments in the background, and repair or report what is damaged");
    key(SCRUBBER_BYTES_PER_SECOND, "8388608", "the most the log scrubber reads per second, in bytes");
    key(SCRUBBER_INTERVAL_MS, "3600000", "the pause between two full passes of the log scrubber over every hosted partition, in ms");
    key(GROUP_SESSION_TIMEOUT_MS, "45000", "a consumer group member that has not heartbeated for this long is removed from its group, in ms");
    key(GROUP_HEARTBEAT_INTERVAL_MS, "5000", "how often consumer group members are told to heartbeat, in ms (below group.consumer.session.timeout.ms)");
    for (Map.Entry<String, String> e : TOPIC_DEFAULT_KEYS.entrySet()) {
      TopicConfig.Key topicKey = TopicConfig.keys().get(e.getValue());
      key(e.getKey(), topicKey.defaultValue(), "default " + e.getValue() + " of topics: " + topicKey.doc());
    }
  }

  private static void key(String name, String defaultValue, String doc) {
    KEYS.put(name, new Key(name, defaultValue, doc));
  }

  private final int nodeId;
  private final Set<Role> roles;
  private final HostPort brokerAddress;
  private final HostPort quorumAddress;
  private final List<Voter> voters;
  private final Path dataDir;
  private final String rack;
  private final int numPartitions;
  private final int defaultReplicationFactor;
  private final long retentionCheckIntervalMs;
  private final int maxRequestBytes;
  private final int quorumSnapshotThreshold;
  private final int quorumRequestTimeoutMs;
  private final boolean autoCreateTopics;
  private final long heartbeatIntervalMs;
  private final long sessionTimeoutMs;
  private final long leaderImbalanceCheckIntervalMs;
  private final long controlledShutdownTimeoutMs;
  private final ReplicationConfig replication;
  private final long flushSchedulerIntervalMs;
  private final boolean scrubberEnabled;
  private final long scrubberBytesPerSecond;
  private final long scrubberIntervalMs;
  private final long groupSessionTimeoutMs;
  private final long groupHeartbeatIntervalMs;
  private final Map<String, String> topicDefaults;
  /** The file this was loaded from and the line of each key, for messages; null otherwise. */
  private Path source;
  private PropertiesFile sourceLines;

  private NodeConfig(Map<String, String> props) {
    for (String name : props.keySet()) {
      if (!KEYS.containsKey(name)) {
        throw new ConfigException(name, "unknown config key '" + name + "'" + suggestion(name));
      }
    }
    nodeId = (int) longValue(props, NODE_ID, 0, Integer.MAX_VALUE);
    roles = parseRoles(value(props, ROLES));
    dataDir = Path.of(required(props, DATA_DIR));
    voters = parseVoters(required(props, QUORUM_VOTERS));
    brokerAddress = roles.contains(Role.BROKER) ? HostPort.parse(BROKER_ADDRESS, required(props, BROKER_ADDRESS)) : null;
    if (roles.contains(Role.QUORUM)) {
      quorumAddress = HostPort.parse(QUORUM_ADDRESS, required(props, QUORUM_ADDRESS));
      Voter self = voters.stream().filter(v -> v.id() == nodeId).findFirst().orElseThrow(() ->
          new ConfigException(QUORUM_VOTERS, QUORUM_VOTERS + " has no entry for node.id " + nodeId + ", which has the quorum role"));
      if (self.port() != quorumAddress.port() && quorumAddress.port() != 0) {
        throw new ConfigException(QUORUM_ADDRESS, QUORUM_ADDRESS + " " + quorumAddress + " does not match this node's entry "
            + self + " in " + QUORUM_VOTERS);
      }
    } else {
      quorumAddress = null;
    }
    rack = value(props, RACK).trim();
    numPartitions = (int) longValue(props, NUM_PARTITIONS, 1, Integer.MAX_VALUE);
    defaultReplicationFactor = (int) longValue(props, DEFAULT_REPLICATION_FACTOR, 1, Short.MAX_VALUE);
    retentionCheckIntervalMs = longValue(props, RETENTION_CHECK_INTERVAL_MS, 100, Long.MAX_VALUE);
    maxRequestBytes = (int) longValue(props, MAX_REQUEST_BYTES, 1 << 20, Integer.MAX_VALUE);
    quorumSnapshotThreshold = (int) longValue(props, QUORUM_SNAPSHOT_THRESHOLD, 1, Integer.MAX_VALUE);
    quorumRequestTimeoutMs = (int) longValue(props, QUORUM_REQUEST_TIMEOUT_MS, 100, Integer.MAX_VALUE);
    autoCreateTopics = booleanValue(props, AUTO_CREATE_TOPICS);
    heartbeatIntervalMs = longValue(props, HEARTBEAT_INTERVAL_MS, 10, 60_000);
    sessionTimeoutMs = longValue(props, SESSION_TIMEOUT_MS, 100, 600_000);
    if (sessionTimeoutMs < 2 * heartbeatIntervalMs) {
      throw new ConfigException(SESSION_TIMEOUT_MS, SESSION_TIMEOUT_MS + " (" + sessionTimeoutMs + ") must be at least twice "
          + HEARTBEAT_INTERVAL_MS + " (" + heartbeatIntervalMs + ")");
    }
    leaderImbalanceCheckIntervalMs = longValue(props, LEADER_IMBALANCE_CHECK_INTERVAL_MS, 100, Long.MAX_VALUE);
    long replicaLagTimeMaxMs = longValue(props, REPLICA_LAG_TIME_MAX_MS, 100, Long.MAX_VALUE);
    controlledShutdownTimeoutMs = longValue(props, CONTROLLED_SHUTDOWN_TIMEOUT_MS, 0, Long.MAX_VALUE);
    long fetchWaitMaxMs = longValue(props, REPLICA_FETCH_WAIT_MAX_MS, 0, Integer.MAX_VALUE);
    if (fetchWaitMaxMs >= replicaLagTimeMaxMs) {
      // Kafka's rule: a follower whose fetch is held this long would look out of sync while caught up.
      throw new ConfigException(REPLICA_FETCH_WAIT_MAX_MS, REPLICA_FETCH_WAIT_MAX_MS + " (" + fetchWaitMaxMs + ") must be smaller than "
          + REPLICA_LAG_TIME_MAX_MS + " (" + replicaLagTimeMaxMs + ")");
    }
    replication = new ReplicationConfig(replicaLagTimeMaxMs, (int) fetchWaitMaxMs,
        (int) longValue(props, REPLICA_FETCH_MIN_BYTES, 1, Integer.MAX_VALUE),
        (int) longValue(props, REPLICA_FETCH_RESPONSE_MAX_BYTES, 1024, Integer.MAX_VALUE),
        (int) longValue(props, REPLICA_FETCH_MAX_BYTES, 1024, Integer.MAX_VALUE),
        longValue(props, REPLICA_FETCH_BACKOFF_MS, 0, 600_000),
        longValue(props, REPLICA_SOCKET_TIMEOUT_MS, 100, Integer.MAX_VALUE),
        disconnectTimeoutMs(props, fetchWaitMaxMs));
    flushSchedulerIntervalMs = longValue(props, FLUSH_SCHEDULER_INTERVAL_MS, 10, Long.MAX_VALUE);
    scrubberEnabled = booleanValue(props, SCRUBBER_ENABLE);
    scrubberBytesPerSecond = longValue(props, SCRUBBER_BYTES_PER_SECOND, 1024, Long.MAX_VALUE);
    scrubberIntervalMs = longValue(props, SCRUBBER_INTERVAL_MS, 100, Long.MAX_VALUE);
    groupSessionTimeoutMs = longValue(props, GROUP_SESSION_TIMEOUT_MS, 100, Integer.MAX_VALUE);
    groupHeartbeatIntervalMs = longValue(props, GROUP_HEARTBEAT_INTERVAL_MS, 10, Integer.MAX_VALUE);
    if (groupHeartbeatIntervalMs >= groupSessionTimeoutMs) {
      throw new ConfigException(GROUP_HEARTBEAT_INTERVAL_MS, GROUP_HEARTBEAT_INTERVAL_MS + " (" + groupHeartbeatIntervalMs
          + ") must be below " + GROUP_SESSION_TIMEOUT_MS + " (" + groupSessionTimeoutMs + ")");
    }
    Map<String, String> defaults = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : TOPIC_DEFAULT_KEYS.entrySet()) {
      String v = value(props, e.getKey()).trim();
      String reason = TopicConfig.keys().get(e.getValue()).invalidReason(v);
      if (reason != null) {
        throw new ConfigException(e.getKey(), e.getKey() + ": " + reason);
      }
      defaults.put(e.getValue(), v);
    }
    defaults.put("num.partitions", String.valueOf(numPartitions));
    defaults.put("default.replication.factor", String.valueOf(defaultReplicationFactor));
    topicDefaults = Collections.unmodifiableMap(defaults);
    if (maxRequestBytes < Long.parseLong(topicDefaults.get(TopicConfig.MAX_MESSAGE_BYTES)) + 1024) {
      throw new ConfigException(MAX_REQUEST_BYTES, MAX_REQUEST_BYTES + " must be larger than message.max.bytes");
    }
  }

  /**
   * Reads and validates a properties file. Every error names the file, and the line when one
   * line is at fault: {@code config/node1.properties:4: node.id must be a whole number, got 'one'}.
   * See {@link PropertiesFile} for the syntax.
   */
  public static NodeConfig load(Path file) {
    PropertiesFile p = PropertiesFile.read(file);
    try {
      NodeConfig c = new NodeConfig(p.values());
      c.source = file;
      c.sourceLines = p;
      return c;
    } catch (ConfigException e) {
      throw locate(file, p, e);
    }
  }

  /**
   * {@code e} (about a key of this config, e.g. a port in use found at start-up) with the file
   * and line that set the key in front when this config was loaded from a file.
   */
  public ConfigException locate(ConfigException e) {
    return source == null ? e : locate(source, sourceLines, e);
  }

  private static ConfigException locate(Path file, PropertiesFile p, ConfigException e) {
    Integer line = e.key() == null ? null : p.lineOf(e.key());
    return new ConfigException(e.key(), file + (line == null ? "" : ":" + line) + ": " + e.getMessage());
  }

  /** Validates a map of key/value pairs (tests and {@link #dev}). */
  public static NodeConfig of(Map<String, String> props) {
    return new NodeConfig(props);
  }

  /**
   * The single-node development configuration of {@code bin/brook dev}: node 1, both roles,
   * broker on 127.0.0.1:{@code port}, the quorum peer on the next port (or an ephemeral one when
   * {@code port} is 0), plaintext.
   */
  public static NodeConfig dev(Path dataDir, int port, Map<String, String> overrides) {
    int quorumPort = port == 0 ? 0 : port + 1;
    Map<String, String> p = new LinkedHashMap<>();
    p.put(NODE_ID, "1");
    p.put(ROLES, "quorum,broker");
    p.put(BROKER_ADDRESS, "127.0.0.1:" + port);
    p.put(QUORUM_ADDRESS, "127.0.0.1:" + quorumPort);
    p.put(QUORUM_VOTERS, "1@127.0.0.1:" + quorumPort);
    p.put(DATA_DIR, dataDir.toString());
    p.putAll(overrides);
    return new NodeConfig(p);
  }

  /** Every known key with its default and meaning, in documentation order. */
  public static Map<String, Key> keys() {
    return Collections.unmodifiableMap(KEYS);
  }

  /** " (did you mean 'broker.address'?)" for a key one or two typos away from a known one. */
  private static String suggestion(String name) {
    String best = null;
    int bestDistance = 3;
    for (String known : KEYS.keySet()) {
      int d = distance(name, known);
      if (d < bestDistance) {
        bestDistance = d;
        best = known;
      }
    }
    return best == null ? "" : " (did you mean '" + best + "'?)";
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static String value(Map<String, String> props, String name) {
    String v = props.get(name);
    return v != null ? v : KEYS.get(name).defaultValue();
  }

  private static String required(Map<String, String> props, String name) {
    String v = props.get(name);
    if (v == null || v.isBlank()) {
      throw new ConfigException(props.containsKey(name) ? name : null, "missing required config key '" + name + "'");
    }
    return v.trim();
  }

  private static long longValue(Map<String, String> props, String name, long min, long max) {
    String v = name.equals(NODE_ID) ? required(props, name) : value(props, name);
    long n;
    try {
      n = Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(name, name + " must be a whole number, got '" + v + "'");
    }
    if (n < min || n > max) {
      throw new ConfigException(name, name + " must be between " + min + " and " + max + ", got " + n);
    }
    return n;
  }

  private static long disconnectTimeoutMs(Map<String, String> props, long fetchWaitMaxMs) {
    long ms = longValue(props, REPLICA_DISCONNECT_TIMEOUT_MS, 1, Long.MAX_VALUE);
    if (ms <= fetchWaitMaxMs) {
      throw new ConfigException(REPLICA_DISCONNECT_TIMEOUT_MS + " (" + ms + ") must be larger than "
          + REPLICA_FETCH_WAIT_MAX_MS + " (" + fetchWaitMaxMs + "): a connected follower fetches that often");
    }
    return ms;
  }

  private static boolean booleanValue(Map<String, String> props, String name) {
    String v = value(props, name).trim().toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      throw new ConfigException(name, name + " must be true or false, got '" + v + "'");
    }
    return v.equals("true");
  }

  private static Set<Role> parseRoles(String v) {
    EnumSet<Role> roles = EnumSet.noneOf(Role.class);
    for (String part : v.split(",")) {
      String r = part.trim().toLowerCase(Locale.ROOT);
      if (r.isEmpty()) continue;
      switch (r) {
        case "quorum": roles.add(Role.QUORUM); break;
        case "broker": roles.add(Role.BROKER); break;
        default: throw new ConfigException(ROLES, ROLES + " must list quorum and/or broker, got '" + part.trim() + "'");
      }
    }
    if (roles.isEmpty()) {
      throw new ConfigException(ROLES, ROLES + " must list quorum and/or broker");
    }
    return Collections.unmodifiableSet(roles);
  }

  private static List<Voter> parseVoters(String v) {
    List<Voter> out = new ArrayList<>();
    for (String part : v.split(",")) {
      String s = part.trim();
      int at = s.indexOf('@');
      if (at <= 0) {
        throw new ConfigException(QUORUM_VOTERS, QUORUM_VOTERS + " entries must look like id@host:port, got '" + s + "'");
      }
      int id;
      try {
        id = Integer.parseInt(s.substring(0, at));
      } catch (NumberFormatException e) {
        throw new ConfigException(QUORUM_VOTERS, QUORUM_VOTERS + " entry '" + s + "' has a non-numeric id");
      }
      HostPort hp = HostPort.parse(QUORUM_VOTERS, s.substring(at + 1));
      if (out.stream().anyMatch(o -> o.id() == id)) {
        throw new ConfigException(QUORUM_VOTERS, QUORUM_VOTERS + " lists node " + id + " twice");
      }
      out.add(new Voter(id, hp.host(), hp.port()));
    }
    if (out.size() != 1 && out.size() != 3 && out.size() != 5) {
      throw new ConfigException(QUORUM_VOTERS, QUORUM_VOTERS + " must have 1, 3 or 5 voters, got " + out.size());
    }
    return List.copyOf(out);
  }

  public int nodeId() { return nodeId; }
  public Set<Role> roles() { return roles; }
  public boolean hasRole(Role role) { return roles.contains(role); }
  /** The broker endpoint, or null without the broker role. */
  public HostPort brokerAddress() { return brokerAddress; }
  /** The quorum endpoint, or null without the quorum role. */
  public HostPort quorumAddress() { return quorumAddress; }
  public List<Voter> voters() { return voters; }
  public Path dataDir() { return dataDir; }
  public String rack() { return rack; }
  public int numPartitions() { return numPartitions; }
  public int defaultReplicationFactor() { return defaultReplicationFactor; }
  public long retentionCheckIntervalMs() { return retentionCheckIntervalMs; }
  public int maxRequestBytes() { return maxRequestBytes; }
  public int quorumSnapshotThreshold() { return quorumSnapshotThreshold; }
  public int quorumRequestTimeoutMs() { return quorumRequestTimeoutMs; }
  public boolean autoCreateTopics() { return autoCreateTopics; }
  public long heartbeatIntervalMs() { return heartbeatIntervalMs; }
  public long sessionTimeoutMs() { return sessionTimeoutMs; }
  public long leaderImbalanceCheckIntervalMs() { return leaderImbalanceCheckIntervalMs; }
  public long controlledShutdownTimeoutMs() { return controlledShutdownTimeoutMs; }
  /** The replica.* settings of this broker (lag time and follower fetching). */
  public ReplicationConfig replication() { return replication; }
  public long flushSchedulerIntervalMs() { return flushSchedulerIntervalMs; }
  public boolean scrubberEnabled() { return scrubberEnabled; }
  public long scrubberBytesPerSecond() { return scrubberBytesPerSecond; }
  public long scrubberIntervalMs() { return scrubberIntervalMs; }
  public long groupSessionTimeoutMs() { return groupSessionTimeoutMs; }
  public long groupHeartbeatIntervalMs() { return groupHeartbeatIntervalMs; }
  /** Topic config defaults by topic key (retention.ms, ...) plus num.partitions and default.replication.factor. */
  public Map<String, String> topicDefaults() { return topicDefaults; }
}
