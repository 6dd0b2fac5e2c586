package dev.brook.client;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.protocol.Compression;
import java.util.List;
import java.util.Locale;

/**
 * The producer's settings, validated when built. Names and defaults follow Kafka's producer
 * configs ({@code batch.size}, {@code linger.ms}, ...); units are in the names.
 *
 * <pre>
 * bootstrapServers     required     "host:port,host:port" or a list; any one is enough
 * clientId             "brook-producer"
 * acks                 "all"        "0" (no response), "1" (leader), "all" (every ISR member)
 * batchSize            65536        bytes of encoded records per partition batch
 * lingerMs             5            how long a non-full batch waits for more records
 * compression          "none"       none, gzip, snappy, lz4, zstd (per batch)
 * maxRequestSize       1 MiB        the largest record (and produce request) accepted
 * bufferMemory         64 MiB       bytes of unacknowledged batches; send blocks when used up
 * maxBlockMs           60000        longest send() blocks (metadata, buffer memory)
 * retries              MAX_VALUE    retries of retriable errors, bounded by deliveryTimeoutMs
 * retryBackoffMs       100          wait before retrying a partition
 * deliveryTimeoutMs    120000       upper bound from send() to success or failure
 * requestTimeoutMs     30000        a produce request without answer this long is retried
 * maxInFlightRequests  5            unanswered produce requests per broker stream
 * partitioner          DefaultPartitioner (murmur2 on keys as in Kafka, sticky without key)
 * </pre>
 */
public final class ProducerConfig {
  private final List<String> bootstrapServers;
  private final String clientId;
  private final Acks acks;
  private final String acksName;
  private final int batchSize;
  private final long lingerMs;
  private final CompressionCodec compression;
  private final int maxRequestSize;
  private final long bufferMemory;
  private final long maxBlockMs;
  private final int retries;
  private final long retryBackoffMs;
  private final long deliveryTimeoutMs;
  private final long requestTimeoutMs;
  private final int maxInFlightRequests;
  private final Partitioner partitioner;
  private final ChannelFactory channelFactory;

  private ProducerConfig(Builder b) {
    this.bootstrapServers = ClientConfigs.checkServers(b.bootstrapServers);
    this.clientId = b.clientId;
    this.acksName = b.acks;
    this.acks = parseAcks(b.acks);
    this.batchSize = ClientConfigs.positive("batchSize", b.batchSize);
    this.lingerMs = ClientConfigs.nonNegative("lingerMs", b.lingerMs);
    this.compression = Compression.parse(b.compression);
    this.maxRequestSize = ClientConfigs.positive("maxRequestSize", b.maxRequestSize);
    this.bufferMemory = ClientConfigs.positive("bufferMemory", b.bufferMemory);
    this.maxBlockMs = ClientConfigs.nonNegative("maxBlockMs", b.maxBlockMs);
    this.retries = ClientConfigs.nonNegative("retries", b.retries);
    this.retryBackoffMs = ClientConfigs.nonNegative("retryBackoffMs", b.retryBackoffMs);
    this.deliveryTimeoutMs = ClientConfigs.positive("deliveryTimeoutMs", b.deliveryTimeoutMs);
    this.requestTimeoutMs = ClientConfigs.positive("requestTimeoutMs", b.requestTimeoutMs);
    this.maxInFlightRequests = ClientConfigs.positive("maxInFlightRequests", b.maxInFlightRequests);
    this.partitioner = b.partitioner == null ? new DefaultPartitioner() : b.partitioner;
    this.channelFactory = b.channelFactory;
    if (bufferMemory < batchSize) {
      throw new IllegalArgumentException("bufferMemory (" + bufferMemory + ") must be >= batchSize (" + batchSize + ")");
    }
  }

  private static Acks parseAcks(String acks) {
    switch (acks == null ? "" : acks.trim().toLowerCase(Locale.ROOT)) {
      case "0": return Acks.ACKS_NONE;
      case "1": return Acks.ACKS_LEADER;
      case "all":
      case "-1": return Acks.ACKS_ALL;
      default: throw new IllegalArgumentException("acks must be 0, 1 or all, got '" + acks + "'");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  public List<String> bootstrapServers() { return bootstrapServers; }
  public String clientId() { return clientId; }
  /** "0", "1" or "all" as configured. */
  public String acks() { return acksName; }
  Acks wireAcks() { return acks; }
  public int batchSize() { return batchSize; }
  public long lingerMs() { return lingerMs; }
  public CompressionCodec compression() { return compression; }
  public int maxRequestSize() { return maxRequestSize; }
  public long bufferMemory() { return bufferMemory; }
  public long maxBlockMs() { return maxBlockMs; }
  public int retries() { return retries; }
  public long retryBackoffMs() { return retryBackoffMs; }
  public long deliveryTimeoutMs() { return deliveryTimeoutMs; }
  public long requestTimeoutMs() { return requestTimeoutMs; }
  public int maxInFlightRequests() { return maxInFlightRequests; }
  public Partitioner partitioner() { return partitioner; }
  ChannelFactory channelFactory() { return channelFactory; }

  public static final class Builder {
    private List<String> bootstrapServers;
    private String clientId = "brook-producer";
    private String acks = "all";
    private int batchSize = 65536;
    private long lingerMs = 5;
    private String compression = "none";
    private int maxRequestSize = 1 << 20;
    private long bufferMemory = 64L << 20;
    private long maxBlockMs = 60_000;
    private int retries = Integer.MAX_VALUE;
    private long retryBackoffMs = 100;
    private long deliveryTimeoutMs = 120_000;
    private long requestTimeoutMs = 30_000;
    private int maxInFlightRequests = 5;
    private Partitioner partitioner;
    private ChannelFactory channelFactory;

    private Builder() {}

    public Builder bootstrapServers(List<String> servers) { this.bootstrapServers = servers; return this; }
    public Builder bootstrapServers(String servers) { this.bootstrapServers = ClientConfigs.parseServers(servers); return this; }
    public Builder clientId(String clientId) { this.clientId = clientId; return this; }
    public Builder acks(String acks) { this.acks = acks; return this; }
    public Builder batchSize(int bytes) { this.batchSize = bytes; return this; }
    public Builder lingerMs(long ms) { this.lingerMs = ms; return this; }
    public Builder compression(String codec) { this.compression = codec; return this; }
    public Builder maxRequestSize(int bytes) { this.maxRequestSize = bytes; return this; }
    public Builder bufferMemory(long bytes) { this.bufferMemory = bytes; return this; }
    public Builder maxBlockMs(long ms) { this.maxBlockMs = ms; return this; }
    public Builder retries(int retries) { this.retries = retries; return this; }
    public Builder retryBackoffMs(long ms) { this.retryBackoffMs = ms; return this; }
    public Builder deliveryTimeoutMs(long ms) { this.deliveryTimeoutMs = ms; return this; }
    public Builder requestTimeoutMs(long ms) { this.requestTimeoutMs = ms; return this; }
    public Builder maxInFlightRequests(int n) { this.maxInFlightRequests = n; return this; }
    public Builder partitioner(Partitioner partitioner) { this.partitioner = partitioner; return this; }
    Builder channelFactory(ChannelFactory factory) { this.channelFactory = factory; return this; }

    public ProducerConfig build() {
      return new ProducerConfig(this);
    }
  }
}
