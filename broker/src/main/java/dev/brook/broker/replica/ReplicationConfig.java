package dev.brook.broker.replica;

/**
 * Settings of partition replication on one broker (Kafka's names where Kafka has the setting).
 *
 * @param replicaLagTimeMaxMs {@code replica.lag.time.max.ms}, default 10000: a follower that has
 *     not caught up with the leader's log end for this long is removed from the ISR; the leader
 *     checks every half of it
 * @param fetchMaxWaitMs {@code replica.fetch.wait.max.ms}, default 500: how long a leader holds a
 *     follower's fetch when there is nothing new
 * @param fetchMinBytes {@code replica.fetch.min.bytes}, default 1
 * @param fetchMaxBytes {@code replica.fetch.response.max.bytes}, default 10 MiB: bytes per fetch
 *     response over all partitions (one batch more when the first is larger)
 * @param partitionFetchMaxBytes {@code replica.fetch.max.bytes}, default 1 MiB per partition
 * @param fetchBackoffMs {@code replica.fetch.backoff.ms}, default 500: pause after a partition
 *     error (not leader, epoch mismatch) or a failed stream before trying again
 * @param responseTimeoutMs {@code replica.socket.timeout.ms}, default 30000: a fetch stream that
 *     answers nothing for fetchMaxWaitMs plus this long is abandoned and reopened
 * @param disconnectTimeoutMs {@code replica.disconnect.timeout.ms}, default 1500: a follower whose
 *     fetch stream to the leader closed (a killed broker's connection breaks at once) and that has
 *     not fetched again for this long leaves the ISR, without waiting for replicaLagTimeMaxMs;
 *     larger than fetchMaxWaitMs, since a connected follower fetches at least that often
 */
public record ReplicationConfig(long replicaLagTimeMaxMs, int fetchMaxWaitMs, int fetchMinBytes, int fetchMaxBytes,
    int partitionFetchMaxBytes, long fetchBackoffMs, long responseTimeoutMs, long disconnectTimeoutMs) {

  public ReplicationConfig {
    if (replicaLagTimeMaxMs < 1) throw new IllegalArgumentException("replica.lag.time.max.ms must be >= 1");
    if (fetchMaxWaitMs < 0 || fetchMinBytes < 0) throw new IllegalArgumentException("fetch wait and min bytes must be >= 0");
    if (fetchMaxBytes < 1 || partitionFetchMaxBytes < 1) throw new IllegalArgumentException("fetch max bytes must be >= 1");
    if (fetchBackoffMs < 0 || responseTimeoutMs < 1) throw new IllegalArgumentException("bad backoff or timeout");
    if (disconnectTimeoutMs <= fetchMaxWaitMs) {
      throw new IllegalArgumentException("replica.disconnect.timeout.ms must be larger than replica.fetch.wait.max.ms");
    }
  }

  public static ReplicationConfig defaults() {
    return new ReplicationConfig(10_000, 500, 1, 10 * 1024 * 1024, 1024 * 1024, 500, 30_000, 1_500);
  }
}
