package dev.brook.client;

import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Kafka's default partitioning, so keyed records land on the same partition as with a Kafka
 * producer: {@code (murmur2(keyBytes) & 0x7fffffff) % numPartitions}. Records without a key stick
 * to one partition per topic until the producer opens a new batch for it ({@link #onNewBatch}),
 * which fills batches faster than round-robin (Kafka's sticky partitioner, KIP-480).
 * Thread-safe.
 */
public final class DefaultPartitioner implements Partitioner {
  /** The partition records without a key currently go to, and the count it was chosen from. */
  private record Sticky(int partition, int numPartitions) {}

  private final ConcurrentMap<String, Sticky> sticky = new ConcurrentHashMap<>();
  private final Random random;

  public DefaultPartitioner() {
    this(new Random());
  }

  /** With a given random source, for reproducible tests. */
  DefaultPartitioner(Random random) {
    this.random = random;
  }

  @Override
  public int partition(String topic, Object key, byte[] keyBytes, int numPartitions) {
    if (keyBytes != null) {
      return toPositive(murmur2(keyBytes)) % numPartitions;
    }
    Sticky s = sticky.get(topic);
    if (s != null && s.numPartitions == numPartitions) return s.partition;
    return sticky.compute(topic, (t, old) -> old != null && old.numPartitions == numPartitions
        ? old : new Sticky(nextRandom(numPartitions), numPartitions)).partition;
  }

  @Override
  public void onNewBatch(String topic, int prevPartition) {
    // Only the first caller that sees prevPartition's batch full moves the topic on; a racing
    // sender that still saw prevPartition finds the partition already changed and keeps it.
    sticky.computeIfPresent(topic, (t, s) -> s.partition != prevPartition
        ? s : new Sticky(otherThan(prevPartition, s.numPartitions), s.numPartitions));
  }

  private int otherThan(int prev, int numPartitions) {
    if (numPartitions <= 1) return 0;
    int r = nextRandom(numPartitions - 1);
    return r >= prev ? r + 1 : r;
  }

  private int nextRandom(int bound) {
    synchronized (random) {
      return random.nextInt(bound);
    }
  }

  /** Kafka's {@code Utils.toPositive}: clears the sign bit (not Math.abs, which fails on MIN_VALUE). */
  static int toPositive(int n) {
    return n & 0x7fffffff;
  }

  /** Kafka's {@code Utils.murmur2}: 32-bit MurmurHash2 with seed 0x9747b28c, bit for bit. */
  public static int murmur2(byte[] data) {
    int length = data.length;
    int seed = 0x9747b28c;
    final int m = 0x5bd1e995;
    final int r = 24;
    int h = seed ^ length;
    int length4 = length / 4;
    for (int i = 0; i < length4; i++) {
      int i4 = i * 4;
      int k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16)
          + ((data[i4 + 3] & 0xff) << 24);
      k *= m;
      k ^= k >>> r;
      k *= m;
      h *= m;
      h ^= k;
    }
    switch (length % 4) {
      case 3:
        h ^= (data[(length & ~3) + 2] & 0xff) << 16;
        // fall through
      case 2:
        h ^= (data[(length & ~3) + 1] & 0xff) << 8;
        // fall through
      case 1:
        h ^= data[length & ~3] & 0xff;
        h *= m;
        break;
      default:
        break;
    }
    h ^= h >>> 13;
    h *= m;
    h ^= h >>> 15;
    return h;
  }
}
