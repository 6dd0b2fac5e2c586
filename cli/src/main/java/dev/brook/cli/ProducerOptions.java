package dev.brook.cli;

import dev.brook.client.ProducerConfig;
import picocli.CommandLine.Option;

/** Producer tuning shared by {@code produce} and {@code perf produce}. */
final class ProducerOptions {
  @Option(names = "--acks", paramLabel = "0|1|all",
      description = "Acknowledgement level (default: all; perf produce: 1, as in Kafka's comparison runs).")
  String acks;

  @Option(names = "--batch-size", paramLabel = "BYTES", defaultValue = "65536",
      description = "Largest batch per partition in bytes (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--linger-ms", paramLabel = "MS", defaultValue = "5",
      description = "How long a batch may wait for more records (default: ${DEFAULT-VALUE}).")
  int lingerMs;

  @Option(names = "--max-in-flight", paramLabel = "N",
      description = {"Unanswered produce requests per broker (default: produce 1, perf produce 5). With 1, records of",
          "a partition keep their order through retries and leader failover; above 1 a retry can reorder them."})
  Integer maxInFlight;

  @Option(names = "--compression", paramLabel = "none|gzip|snappy|lz4|zstd", defaultValue = "none",
      description = "Batch compression (default: ${DEFAULT-VALUE}).")
  String compression;

  /**
   * The config for {@code bootstrap}, with {@code defaultAcks} and {@code defaultMaxInFlight}
   * where --acks and --max-in-flight were not given.
   */
  ProducerConfig config(String bootstrap, String defaultAcks, int defaultMaxInFlight) {
    if (acks == null) acks = defaultAcks;
    if (maxInFlight == null) maxInFlight = defaultMaxInFlight;
    if (maxInFlight < 1) throw new Failures.CliException("--max-in-flight must be >= 1, got " + maxInFlight);
    if (!acks.equals("0") && !acks.equals("1") && !acks.equals("all") && !acks.equals("-1")) {
      throw new Failures.CliException("--acks must be 0, 1 or all, got '" + acks + "'");
    }
    if (batchSize < 1) throw new Failures.CliException("--batch-size must be >= 1, got " + batchSize);
    if (lingerMs < 0) throw new Failures.CliException("--linger-ms must be >= 0, got " + lingerMs);
    try {
      return ProducerConfig.builder()
          .bootstrapServers(bootstrap)
          .clientId("brook-cli")
          .acks(acks.equals("-1") ? "all" : acks)
          .batchSize(batchSize)
          .lingerMs(lingerMs)
          .compression(compression)
          .maxInFlightRequests(maxInFlight)
          .build();
    } catch (IllegalArgumentException e) {
      throw new Failures.CliException(e.getMessage());
    }
  }
}
