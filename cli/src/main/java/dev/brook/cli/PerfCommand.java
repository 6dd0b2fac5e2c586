package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.ConsumerRecords;
import dev.brook.client.OffsetAndMetadata;
import dev.brook.client.PartitionInfo;
import dev.brook.client.Producer;
import dev.brook.client.ProducerRecord;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "perf", description = "Benchmarks that print Kafka's perf-test summary lines.",
    subcommands = {PerfCommand.ProducePerf.class, PerfCommand.ConsumePerf.class, PerfCommand.CommitPerf.class,
        RebalancePerf.class, GroupScalePerf.class})
final class PerfCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: produce or consume");
  }

  private static final long REPORT_INTERVAL_NANOS = 5_000_000_000L;

  @Command(name = "produce", description = {
      "Send records as fast as allowed and report throughput and latency like kafka-producer-perf-test:",
      "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, ..."})
  static final class ProducePerf implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Mixin
    ProducerOptions producer;

    @Option(names = "--topic", required = true)
    String topic;

    @Option(names = "--num-records", required = true, description = "How many records to send.")
    long numRecords;

    @Option(names = "--record-size", required = true, description = "Value size in bytes.")
    int recordSize;

    @Option(names = "--throughput", required = true, description = "Target records/sec; -1 = unthrottled.")
    long throughput;

    @Override
    public Integer call() throws Exception {
      if (numRecords < 1) throw new Failures.CliException("--num-records must be >= 1");
      if (recordSize < 0) throw new Failures.CliException("--record-size must be >= 0");
      PrintWriter out = spec.commandLine().getOut();
      byte[] payload = new byte[recordSize];
      Random random = new Random(42);
      for (int i = 0; i < payload.length; i++) {
        payload[i] = (byte) ('A' + random.nextInt(26));
      }
      LatencyStats total = new LatencyStats(numRecords);
      AtomicReference<LatencyStats> window = new AtomicReference<>(new LatencyStats(numRecords));
      AtomicLong failed = new AtomicLong();
      AtomicReference<Throwable> firstError = new AtomicReference<>();
      AtomicLong windowBytes = new AtomicLong();
      long start = System.nanoTime();
      long windowStart = start;
      long end;
      Throttler throttler = new Throttler(throughput, start);
      try (Producer<byte[], byte[]> p = new Producer<>(producer.config(client.bootstrapServer, "1", 5),
          Serdes.bytesSerializer(), Serdes.bytesSerializer())) {
        TopicLookup.forProducer(p, topic);
        for (long i = 0; i < numRecords; i++) {
          long sendNanos = System.nanoTime();
          p.send(new ProducerRecord<>(topic, null, null, null, payload, null)).whenComplete((md, e) -> {
            if (e != null) {
              failed.incrementAndGet();
              firstError.compareAndSet(null, e);
              return;
            }
            long latencyMs = (System.nanoTime() - sendNanos) / 1_000_000;
            total.record(latencyMs);
            window.get().record(latencyMs);
            windowBytes.addAndGet(payload.length);
          });
          throttler.throttle(i + 1);
          long now = System.nanoTime();
          if (now - windowStart >= REPORT_INTERVAL_NANOS) {
            LatencyStats w = window.getAndSet(new LatencyStats(numRecords));
            double secs = (now - windowStart) / 1e9;
            out.printf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.%n",
                w.count(), w.count() / secs, windowBytes.getAndSet(0) / secs / (1024 * 1024), w.avgMs(),
                (double) w.maxMs());
            out.flush();
            windowStart = now;
          }
        }
        p.flush();
        // Measured when the last record was acknowledged, before the client shuts down, as
        // Kafka's producer-perf-test does.
        end = System.nanoTime();
      }
      double secs = (end - start) / 1e9;
      long ok = total.count();
      out.printf("%d records sent, %f records/sec (%.2f MB/sec), %s.%n", ok, ok / secs,
          ok * (double) recordSize / secs / (1024 * 1024), total.summary());
      out.flush();
      if (failed.get() > 0) {
        throw new Failures.CliException(failed.get() + " records failed: " + Failures.describe(firstError.get()));
      }
      return 0;
    }
  }

  @Command(name = "consume", description = {
      "Read a topic from the beginning and report throughput and latency (record timestamp to receipt):",
      "N records received, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, ..."})
  static final class ConsumePerf implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(names = "--topic", required = true)
    String topic;

    @Option(names = "--num-records", required = true, description = "Stop after this many records.")
    long numRecords;

    @Option(names = "--timeout-ms", defaultValue = "10000",
        description = "Stop when no record arrived for this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--fetch-max-bytes", defaultValue = "52428800", description = "Fetch size limit (default: ${DEFAULT-VALUE}).")
    int fetchMaxBytes;

    @Override
    public Integer call() {
      if (numRecords < 1) throw new Failures.CliException("--num-records must be >= 1");
      PrintWriter out = spec.commandLine().getOut();
      ConsumerConfig config = ConsumerConfig.builder().bootstrapServers(client.bootstrapServer).clientId("brook-perf")
          .autoOffsetReset("earliest").fetchMaxBytes(fetchMaxBytes).maxPollRecords(10_000).build();
      LatencyStats stats = new LatencyStats(numRecords);
      long bytes = 0;
      long received = 0;
      long start;
      try (Consumer<byte[], byte[]> consumer = new Consumer<>(config, Serdes.bytesDeserializer(), Serdes.bytesDeserializer())) {
        List<TopicPartition> tps = new ArrayList<>();
        for (PartitionInfo p : TopicLookup.forConsumer(consumer, topic)) {
          tps.add(new TopicPartition(topic, p.partition()));
        }
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        start = System.nanoTime();
        long lastRecord = start;
        while (received < numRecords) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
          long now = System.nanoTime();
          if (records.isEmpty()) {
            if ((now - lastRecord) / 1_000_000 >= timeoutMs) break;
            continue;
          }
          lastRecord = now;
          long wallMs = System.currentTimeMillis();
          for (ConsumerRecord<byte[], byte[]> r : records) {
            received++;
            bytes += r.value() == null ? 0 : r.value().length;
            stats.record(Math.max(0, wallMs - r.timestamp()));
          }
        }
        double secs = Math.max(1e-9, (lastRecord - start) / 1e9);
        out.printf("%d records received, %f records/sec (%.2f MB/sec), %s.%n", received, received / secs,
            bytes / secs / (1024 * 1024), stats.summary());
        out.flush();
      }
      if (received < numRecords) {
        throw new Failures.CliException("only " + received + " of " + numRecords + " records arrived within --timeout-ms "
            + timeoutMs);
      }
      return 0;
    }
  }

  @Command(name = "commit", description = {
      "Commit consumer group offsets through the metadata quorum as fast as allowed, each commit",
      "for --partitions-per-commit partitions of --topic in one of --groups groups without members (offsets",
      "within each partition's log), and",
      "report: N commits (O offsets), X commits/sec (Y offsets/sec), and the commit latency."})
  static final class CommitPerf implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(names = "--topic", required = true, description = "An existing topic whose partitions are committed.")
    String topic;

    @Option(names = "--groups", defaultValue = "100", description = "How many groups the commits spread over (default: 100).")
    int groups;

    @Option(names = "--partitions-per-commit", defaultValue = "10",
        description = "Offsets per commit (partitions 0.. of the topic, wrapping; default: 10).")
    int perCommit;

    @Option(names = "--num-commits", required = true, description = "How many commits to send.")
    long numCommits;

    @Option(names = "--throughput", defaultValue = "-1", description = "Target commits/sec; -1 = unthrottled.")
    long throughput;

    @Option(names = "--max-in-flight", defaultValue = "256", description = "Commits awaiting an answer at most (default: 256).")
    int maxInFlight;

    @Option(names = "--warmup-commits", defaultValue = "0",
        description = "Commits sent first and left out of the figures (as Kafka's --warmup-records), so that a cold "
            + "load generator's first seconds do not count; sent at the same --throughput (default: 0).")
    long warmupCommits;

    @Override
    public Integer call() throws Exception {
      if (numCommits < 1 || groups < 1 || perCommit < 1 || maxInFlight < 1) {
        throw new Failures.CliException("--num-commits, --groups, --partitions-per-commit and --max-in-flight must be >= 1");
      }
      if (warmupCommits < 0) throw new Failures.CliException("--warmup-commits must be >= 0");
      PrintWriter out = spec.commandLine().getOut();
      LatencyStats stats = new LatencyStats(numCommits);
      AtomicLong failed = new AtomicLong();
      AtomicReference<Throwable> firstError = new AtomicReference<>();
      java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(maxInFlight);
      try (Admin admin = Admin.create(client.bootstrapServer)) {
        int partitions = admin.describeTopics(java.util.List.of(topic)).join().get(topic).partitions().size();
        // Offsets must lie within the logs (the coordinator refuses one beyond a log's end).
        long[] ends = new long[partitions];
        try (Consumer<byte[], byte[]> reader = new Consumer<>(ConsumerConfig.builder()
            .bootstrapServers(client.bootstrapServer).clientId("brook-perf").build(),
            Serdes.bytesDeserializer(), Serdes.bytesDeserializer())) {
          List<TopicPartition> tps = new ArrayList<>();
          for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
          reader.endOffsets(tps).forEach((tp, end) -> ends[tp.partition()] = end);
        }
        // Find every group's coordinator first, so the measurement is of commits only.
        for (int g = 0; g < groups; g++) admin.alterGroupOffsets("perf-" + g, java.util.Map.of()).join();
        long start = System.nanoTime();
        Throttler throttler = new Throttler(throughput, start);
        long total = warmupCommits + numCommits;
        for (long i = 0; i < total; i++) {
          if (i == warmupCommits && warmupCommits > 0) {
            // Measured from here: wait until every warm-up commit was answered.
            window.acquire(maxInFlight);
            window.release(maxInFlight);
            start = System.nanoTime();
            throttler = new Throttler(throughput, start);
          }
          boolean measured = i >= warmupCommits;
          java.util.Map<TopicPartition, OffsetAndMetadata> offsets = new java.util.HashMap<>();
          for (int j = 0; j < perCommit; j++) {
            int p = (int) ((i * perCommit + j) % partitions);
            offsets.put(new TopicPartition(topic, p), new OffsetAndMetadata(i % (ends[p] + 1)));
          }
          window.acquire();
          long sent = System.nanoTime();
          admin.alterGroupOffsets("perf-" + (i % groups), offsets).whenComplete((v, e) -> {
            // Counted before the permit is given back: the summary is printed once all permits are back.
            if (e != null) {
              failed.incrementAndGet();
              firstError.compareAndSet(null, e);
            } else if (measured) {
              stats.record((System.nanoTime() - sent) / 1_000_000);
            }
            window.release();
          });
          throttler.throttle(measured ? i + 1 - warmupCommits : i + 1);
        }
        window.acquire(maxInFlight);
        double secs = (System.nanoTime() - start) / 1e9;
        long ok = stats.count();
        out.printf("%d commits (%d offsets), %.1f commits/sec (%.1f offsets/sec), %s.%n", ok, ok * perCommit, ok / secs,
            ok * perCommit / secs, stats.summary());
        out.flush();
      }
      if (failed.get() > 0) {
        throw new Failures.CliException(failed.get() + " commits failed: " + Failures.describe(firstError.get()));
      }
      return 0;
    }
  }
}
