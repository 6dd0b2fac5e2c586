package dev.brook.cli;

import java.util.Arrays;

/**
 * Latency statistics the way Kafka's perf tools report them: average and maximum over every
 * sample, percentiles over a bounded reservoir (every n-th sample) so memory stays fixed.
 * Thread-safe: completions arrive on client threads.
 */
final class LatencyStats {
  private static final int MAX_SAMPLES = 500_000;

  private final int sampleEvery;
  private final int[] samples;
  private int sampled;
  private long count;
  private long totalMs;
  private long maxMs;

  LatencyStats(long expectedRecords) {
    this.sampleEvery = (int) Math.max(1, expectedRecords / MAX_SAMPLES);
    this.samples = new int[(int) Math.min(MAX_SAMPLES, Math.max(1, expectedRecords)) + 1];
  }

  synchronized void record(long latencyMs) {
    if (count % sampleEvery == 0 && sampled < samples.length) {
      samples[sampled++] = (int) Math.min(Integer.MAX_VALUE, latencyMs);
    }
    count++;
    totalMs += latencyMs;
    maxMs = Math.max(maxMs, latencyMs);
  }

  synchronized long count() {
    return count;
  }

  synchronized double avgMs() {
    return count == 0 ? 0 : (double) totalMs / count;
  }

  synchronized long maxMs() {
    return maxMs;
  }

  /** The percentiles (0..1) of the sampled latencies, in ms. */
  synchronized int[] percentiles(double... ps) {
    int[] sorted = Arrays.copyOf(samples, sampled);
    Arrays.sort(sorted);
    int[] out = new int[ps.length];
    for (int i = 0; i < ps.length; i++) {
      out[i] = sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, (long) (ps[i] * sorted.length))];
    }
    return out;
  }

  /** "A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th" */
  String summary() {
    int[] p = percentiles(0.5, 0.95, 0.99, 0.999);
    return String.format("%.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th",
        avgMs(), (double) maxMs(), p[0], p[1], p[2], p[3]);
  }
}
