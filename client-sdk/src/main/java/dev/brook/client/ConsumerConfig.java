package dev.brook.client;

import dev.brook.proto.v1.IsolationLevel;
import java.util.List;
import java.util.Locale;

/**
 * The consumer's settings, validated when built; names and defaults follow Kafka's.
 *
 * <pre>
 * bootstrapServers        required
 * clientId                "brook-consumer"
 * fetchMinBytes           1          the broker answers once this much is available...
 * fetchMaxWaitMs          500        ...or after this long (long poll)
 * fetchMaxBytes           50 MiB     per fetch response, across partitions
 * maxPartitionFetchBytes  1 MiB      per partition in one fetch
 * maxPollRecords          500        records returned by one poll(); the rest stay buffered
 * autoOffsetReset         "latest"   earliest, latest or none (throw) without a valid position
 * offsetResetListener     null       receives each out-of-range reset (default: logged at WARN)
 * isolationLevel          "read_uncommitted" or "read_committed"
 * requestTimeoutMs        30000      deadline of metadata and offset lookups
 * retryBackoffMs          100        wait after a failed fetch before asking that broker again
 * </pre>
 */
public final class ConsumerConfig {
  /** What to do when a partition has no valid position. */
  public enum OffsetReset { EARLIEST, LATEST, NONE }

  private final List<String> bootstrapServers;
  private final String clientId;
  private final int fetchMinBytes;
  private final int fetchMaxWaitMs;
  private final int fetchMaxBytes;
  private final int maxPartitionFetchBytes;
  private final int maxPollRecords;
  private final OffsetReset autoOffsetReset;
  private final IsolationLevel isolationLevel;
  private final long requestTimeoutMs;
  private final long retryBackoffMs;
  private final ChannelFactory channelFactory;
  private final java.util.function.Consumer<OffsetResetEvent> offsetResetListener;
  private final String groupId;
  private final String groupInstanceId;
  private final boolean enableAutoCommit;
  private final long autoCommitIntervalMs;
  private final int maxPollIntervalMs;
  private final String groupRemoteAssignor;

  private ConsumerConfig(Builder b) {
    this.groupId = b.groupId == null || b.groupId.isEmpty() ? null : b.groupId;
    if (this.groupId != null && (this.groupId.length() > 255 || this.groupId.indexOf('\0') >= 0)) {
      throw new IllegalArgumentException("groupId must be 1 to 255 characters without NUL, got '" + b.groupId + "'");
    }
    this.groupInstanceId = b.groupInstanceId == null || b.groupInstanceId.isEmpty() ? null : b.groupInstanceId;
    this.enableAutoCommit = b.enableAutoCommit;
    this.autoCommitIntervalMs = ClientConfigs.positive("autoCommitIntervalMs", b.autoCommitIntervalMs);
    this.maxPollIntervalMs = ClientConfigs.positive("maxPollIntervalMs", b.maxPollIntervalMs);
    this.groupRemoteAssignor = b.groupRemoteAssignor == null || b.groupRemoteAssignor.isEmpty() ? null : b.groupRemoteAssignor;
    this.offsetResetListener = b.offsetResetListener;
    this.bootstrapServers = ClientConfigs.checkServers(b.bootstrapServers);
    this.clientId = b.clientId;
    this.fetchMinBytes = ClientConfigs.nonNegative("fetchMinBytes", b.fetchMinBytes);
    this.fetchMaxWaitMs = ClientConfigs.nonNegative("fetchMaxWaitMs", b.fetchMaxWaitMs);
    this.fetchMaxBytes = ClientConfigs.positive("fetchMaxBytes", b.fetchMaxBytes);
    this.maxPartitionFetchBytes = ClientConfigs.positive("maxPartitionFetchBytes", b.maxPartitionFetchBytes);
    this.maxPollRecords = ClientConfigs.positive("maxPollRecords", b.maxPollRecords);
    this.requestTimeoutMs = ClientConfigs.positive("requestTimeoutMs", b.requestTimeoutMs);
    this.retryBackoffMs = ClientConfigs.nonNegative("retryBackoffMs", b.retryBackoffMs);
    this.channelFactory = b.channelFactory;
    switch (b.autoOffsetReset == null ? "" : b.autoOffsetReset.trim().toLowerCase(Locale.ROOT)) {
      case "earliest": this.autoOffsetReset = OffsetReset.EARLIEST; break;
      case "latest": this.autoOffsetReset = OffsetReset.LATEST; break;
      case "none": this.autoOffsetReset = OffsetReset.NONE; break;
      default: throw new IllegalArgumentException(
          "autoOffsetReset must be earliest, latest or none, got '" + b.autoOffsetReset + "'");
    }
    switch (b.isolationLevel == null ? "" : b.isolationLevel.trim().toLowerCase(Locale.ROOT)) {
      case "read_uncommitted": this.isolationLevel = IsolationLevel.READ_UNCOMMITTED; break;
      case "read_committed": this.isolationLevel = IsolationLevel.READ_COMMITTED; break;
      default: throw new IllegalArgumentException(
          "isolationLevel must be read_uncommitted or read_committed, got '" + b.isolationLevel + "'");
    }
  }

  /** {@code group.id}: the consumer group of {@link Consumer#subscribe}; null without one. */
  public String groupId() { return groupId; }
  /** {@code group.instance.id}: a static member's stable id, or null. */
  public String groupInstanceId() { return groupInstanceId; }
  /** {@code enable.auto.commit}: commit the positions of the last poll in the background of poll. */
  public boolean enableAutoCommit() { return enableAutoCommit; }
  public long autoCommitIntervalMs() { return autoCommitIntervalMs; }
  /** {@code max.poll.interval.ms}: the longest gap between polls before the member leaves its group. */
  public int maxPollIntervalMs() { return maxPollIntervalMs; }
  /** {@code group.remote.assignor}: the server-side assignor asked for, or null for the broker's default. */
  public String groupRemoteAssignor() { return groupRemoteAssignor; }

  public static Builder builder() {
    return new Builder();
  }

  public List<String> bootstrapServers() { return bootstrapServers; }
  public String clientId() { return clientId; }
  public int fetchMinBytes() { return fetchMinBytes; }
  public int fetchMaxWaitMs() { return fetchMaxWaitMs; }
  public int fetchMaxBytes() { return fetchMaxBytes; }
  public int maxPartitionFetchBytes() { return maxPartitionFetchBytes; }
  public int maxPollRecords() { return maxPollRecords; }
  public OffsetReset autoOffsetReset() { return autoOffsetReset; }
  public IsolationLevel isolationLevel() { return isolationLevel; }
  public long requestTimeoutMs() { return requestTimeoutMs; }
  public long retryBackoffMs() { return retryBackoffMs; }
  ChannelFactory channelFactory() { return channelFactory; }
  /** Who is told about out-of-range resets; null: the consumer logs them at WARN. */
  public java.util.function.Consumer<OffsetResetEvent> offsetResetListener() { return offsetResetListener; }

  public static final class Builder {
    private List<String> bootstrapServers;
    private String clientId = "brook-consumer";
    private int fetchMinBytes = 1;
    private int fetchMaxWaitMs = 500;
    private int fetchMaxBytes = 50 << 20;
    private int maxPartitionFetchBytes = 1 << 20;
    private int maxPollRecords = 500;
    private String autoOffsetReset = "latest";
    private String isolationLevel = "read_uncommitted";
    private long requestTimeoutMs = 30_000;
    private long retryBackoffMs = 100;
    private ChannelFactory channelFactory;
    private java.util.function.Consumer<OffsetResetEvent> offsetResetListener;
    private String groupId;
    private String groupInstanceId;
    private boolean enableAutoCommit = true;
    private long autoCommitIntervalMs = 5000;
    private int maxPollIntervalMs = 300_000;
    private String groupRemoteAssignor;

    private Builder() {}

    public Builder groupId(String id) { this.groupId = id; return this; }
    public Builder groupInstanceId(String id) { this.groupInstanceId = id; return this; }
    public Builder enableAutoCommit(boolean enabled) { this.enableAutoCommit = enabled; return this; }
    public Builder autoCommitIntervalMs(long ms) { this.autoCommitIntervalMs = ms; return this; }
    public Builder maxPollIntervalMs(int ms) { this.maxPollIntervalMs = ms; return this; }
    public Builder groupRemoteAssignor(String name) { this.groupRemoteAssignor = name; return this; }

    public Builder bootstrapServers(List<String> servers) { this.bootstrapServers = servers; return this; }
    public Builder bootstrapServers(String servers) { this.bootstrapServers = ClientConfigs.parseServers(servers); return this; }
    public Builder clientId(String clientId) { this.clientId = clientId; return this; }
    public Builder fetchMinBytes(int bytes) { this.fetchMinBytes = bytes; return this; }
    public Builder fetchMaxWaitMs(int ms) { this.fetchMaxWaitMs = ms; return this; }
    public Builder fetchMaxBytes(int bytes) { this.fetchMaxBytes = bytes; return this; }
    public Builder maxPartitionFetchBytes(int bytes) { this.maxPartitionFetchBytes = bytes; return this; }
    public Builder maxPollRecords(int n) { this.maxPollRecords = n; return this; }
    public Builder autoOffsetReset(String policy) { this.autoOffsetReset = policy; return this; }
    public Builder isolationLevel(String level) { this.isolationLevel = level; return this; }
    public Builder requestTimeoutMs(long ms) { this.requestTimeoutMs = ms; return this; }
    public Builder retryBackoffMs(long ms) { this.retryBackoffMs = ms; return this; }
    Builder channelFactory(ChannelFactory factory) { this.channelFactory = factory; return this; }

    /**
     * Receives each reset of an out-of-range position (on the thread that calls poll) instead of
     * the WARN log line the consumer writes by default. With reset policy none there is no reset:
     * poll throws OFFSET_OUT_OF_RANGE.
     */
    public Builder offsetResetListener(java.util.function.Consumer<OffsetResetEvent> listener) {
      this.offsetResetListener = listener;
      return this;
    }

    public ConsumerConfig build() {
      return new ConsumerConfig(this);
    }
  }
}
