package dev.brook.it.faults;

import com.google.protobuf.ByteString;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.PartitionLog;
import dev.brook.broker.log.ReadResult;
import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.NewTopic;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Jepsen-style fault run: a real three-node cluster ({@link FaultCluster}), a topic with
 * replication factor 3 and min.insync.replicas=2, {@link Workload}s recording into a
 * {@link History}, a nemesis injecting seeded {@link Fault}s and healing them, then a final heal,
 * a read of every partition from the leader and of every replica's files after a clean shutdown,
 * and the {@link Checker}s. Prints one {@code faults: ...} summary line; exits non-zero (main) or
 * reports {@link Outcome#failed()} on a violation, keeping the nodes' logs in the run directory.
 *
 * <p>Run it with {@code bin/brook-faults [--name=value ...]} or through
 * {@code FaultInjectionTest}; see docs/fault-injection.md.
 */
public final class FaultRunner {
  static final String TOPIC = "faults";

  /** The result of a run: its summary line, whether it failed, and where its files are (null if deleted). */
  record Outcome(String summary, boolean failed, Path runDir, CheckResult result, List<String> report) {}

  /** Wall-clock formats of the console and the report, fixed width (Instant.toString drops zero millis). */
  private static final DateTimeFormatter MILLIS_UTC = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter SECONDS_UTC = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

  private final RunOptions options;
  private final long t0 = System.nanoTime();
  private final long t0WallMs = System.currentTimeMillis();
  private final List<String> report = Collections.synchronizedList(new ArrayList<>());

  FaultRunner(RunOptions options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      System.out.println(RunOptions.usage());
      return;
    }
    RunOptions options;
    try {
      options = RunOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.err.println(RunOptions.usage());
      System.exit(2);
      return;
    }
    Outcome o = new FaultRunner(options).run();
    System.exit(o.failed() ? 1 : 0);
  }

  /**
   * Cluster settings of every run: a dead broker is noticed in 3 s, a lagging follower in 5 s,
   * damaged closed segments within about a second by the scrubber.
   */
  static Map<String, String> clusterConfig(RunOptions o) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("min.insync.replicas", "2");
    m.put("broker.heartbeat.interval.ms", "500");
    m.put("broker.session.timeout.ms", "3000");
    m.put("replica.lag.time.max.ms", "5000");
    m.put("leader.imbalance.check.interval.ms", "2000");
    m.put("controlled.shutdown.timeout.ms", "3000");
    m.put("auto.create.topics.enable", "false");
    // Group members are noticed gone within seconds, as brokers are.
    m.put("group.consumer.heartbeat.interval.ms", "500");
    m.put("group.consumer.session.timeout.ms", "6000");
    // The scrubber finds damage nobody reads again (a follower's copy, data consumers passed):
    // repairing it is part of what the disk faults check.
    m.put("log.scrubber.enable", "true");
    m.put("log.scrubber.interval.ms", "1000");
    m.put("log.scrubber.bytes.per.second", "52428800");
    return m;
  }

  Outcome run() throws Exception {
    Files.createDirectories(options.outDir());
    Path runDir = Files.createTempDirectory(options.outDir().toAbsolutePath(), "run-seed" + options.seed() + "-");
    log("faults: seed=" + options.seed() + " run dir " + runDir + "; reproduce with: bin/brook-faults " + options.asArgs());
    History history = new History();
    Random rng = new Random(options.seed());
    List<Workload> workloads = new ArrayList<>(List.of(new ProducerWorkload(), new ConsumerWorkload()));
    List<Checker> checkers = new ArrayList<>(List.of(new LogChecker(), new ReplicaChecker(), new AvailabilityChecker()));
    if (options.groupMembers() > 0) {
      workloads.add(new GroupWorkload());
      checkers.add(new GroupChecker());
    }
    Map<String, Integer> faultCounts = new TreeMap<>();
    FinalState end;
    long stuck = 0;
    long runEnd;
    FaultCluster cluster = new FaultCluster(runDir, clusterConfig(options));
    try {
      cluster.start(90_000);
      log("cluster up");
      try (Admin admin = Admin.create(cluster.allAddresses())) {
        admin.createTopics(List.of(new NewTopic(TOPIC, options.partitions(), 3, Map.of(
            "min.insync.replicas", "2", "segment.bytes", String.valueOf(options.segmentBytes()))))).all().get(60, TimeUnit.SECONDS);
      }
      if (cluster.awaitHealthy(TOPIC, options.partitions(), 60_000) < 0) throw new IllegalStateException("topic never fully replicated");
      RunContext ctx = new RunContext(cluster, TOPIC, options.partitions(), history, options);
      for (Workload w : workloads) w.start(ctx);
      awaitProgress(workloads.get(0), 50, 60_000, history, "before the first fault");
      log("workloads running; proxies " + cluster.proxyStats());

      long deadline = t0 + TimeUnit.SECONDS.toNanos(options.durationSec());
      List<Fault> cycle = new ArrayList<>();
      int cyclesStarted = 0;
      while (System.nanoTime() < deadline) {
        // With --cycles=N the run ends once N full rounds of every kind are done (or at the deadline).
        if (cycle.isEmpty() && options.cycles() > 0 && cyclesStarted == options.cycles()) break;
        pause(between(rng, options.quietMinMs(), options.quietMaxMs()), deadline);
        if (System.nanoTime() >= deadline) break;
        if (cycle.isEmpty()) {
          cyclesStarted++;
          options.faults().forEach(k -> cycle.add(Faults.byName(k)));
          Collections.shuffle(cycle, rng);
        }
        Fault f = cycle.remove(0);
        long hold = between(rng, options.holdMinMs(), options.holdMaxMs());
        Map<Integer, Integer> leaders = new TreeMap<>();
        try {
          cluster.describe(TOPIC).forEach(pi -> leaders.put(pi.partition(), pi.leaderId()));
        } catch (Exception e) {
          history.note("cannot describe the partitions before " + f.kind() + ": " + e);
        }
        long start = System.nanoTime();
        Fault.Injected inj;
        try {
          inj = f.inject(ctx, rng);
        } catch (Exception e) {
          history.note(f.kind() + ": injection failed: " + e);
          log(f.kind() + ": injection failed: " + e);
          continue;
        }
        log(f.kind() + " " + inj.target() + " for " + hold + " ms");
        pause(hold, Long.MAX_VALUE);
        long heal = System.nanoTime();
        try {
          inj.heal().heal();
        } catch (Exception e) {
          history.note(f.kind() + ": heal failed: " + e);
        }
        long took = cluster.awaitHealthy(TOPIC, options.partitions(), options.recoverTimeoutMs());
        long recovered = System.nanoTime();
        if (took < 0) {
          stuck++;
          String s = f.kind() + " " + inj.target() + ": not recovered (every partition led, full ISR) "
              + options.recoverTimeoutMs() + " ms after the heal";
          history.note(s);
          log(s);
          recovered = -1;
        } else {
          log("healed; recovered in " + took + " ms");
        }
        List<Integer> led = leaders.entrySet().stream().filter(e -> inj.nodes().contains(e.getValue()))
            .map(Map.Entry::getKey).toList();
        long back = Long.MAX_VALUE;
        for (int id : inj.nodes()) {
          long ready = cluster.readyNanos(id);
          if (ready >= heal) back = Math.min(back, ready);
        }
        history.fault(new History.FaultEvent(f.kind(), inj.target(), led, start, heal, recovered,
            back == Long.MAX_VALUE ? heal : back));
        faultCounts.merge(f.kind(), 1, Integer::sum);
      }
      log("nemesis done; stopping workloads");
      workloads.get(0).stop();
      runEnd = System.nanoTime();
      for (Workload w : workloads.subList(1, workloads.size())) w.stop();
      for (Workload w : workloads) log(w.stats());

      // Final heal: everything back, then let it settle.
      cluster.healNetwork();
      for (int id = 1; id <= FaultCluster.SIZE; id++) {
        if (cluster.isRunning(id)) cluster.resume(id);
        else cluster.startNode(id);
      }
      for (int id = 1; id <= FaultCluster.SIZE; id++) cluster.awaitReady(id, 90_000);
      long settle = cluster.awaitHealthy(TOPIC, options.partitions(), 120_000);
      log(settle < 0 ? "cluster did NOT settle within 120 s of the final heal" : "settled in " + settle + " ms");
      end = readFinal(cluster);
      end.settled = settle >= 0;
      for (Workload w : workloads) w.finish(ctx);
      cluster.stopAll(20_000);
      log("nodes stopped");
      readReplicas(cluster, end);
    } finally {
      cluster.close();
    }

    CheckResult result = new CheckResult();
    for (Checker c : checkers) result.merge(c.check(history, end, runEnd));
    result.violationCount("unsettled", end.settled ? 0 : 1);
    result.count("stuck", stuck);
    String summary = summary(faultCounts, history, result);
    boolean failed = result.violated();
    List<String> lines = new ArrayList<>();
    lines.add(summary);
    history.notes().forEach(n -> lines.add("note: " + n));
    end.problems.forEach(p -> lines.add("problem: " + p));
    result.examples().forEach(e -> lines.add("example: " + e));
    List<String> windows = AvailabilityChecker.perFault(history, options.partitions(), runEnd);
    for (int i = 0; i < history.faults().size(); i++) {
      History.FaultEvent f = history.faults().get(i);
      lines.add(String.format("fault %s %s (led partitions %s) at %.3f s (%s), healed at %.1f s, %s; unavailable-ms any/led/other/heal/back %s",
          f.kind(), f.target(), f.ledPartitions(), secs(f.startNanos()), wallClock(f.startNanos()), secs(f.healNanos()),
          f.recoveredNanos() < 0 ? "NOT recovered" : String.format("recovered at %.1f s", secs(f.recoveredNanos())),
          windows.get(i)));
    }
    Files.write(runDir.resolve("report.txt"), lines);
    lines.stream().skip(1).limit(60).forEach(System.out::println);
    System.out.println(summary);
    Path kept = runDir;
    if (failed) {
      System.out.println("faults: FAILED (" + String.join(", ", result.violations()) + "); node logs and data kept in " + runDir);
    } else if (!options.keep()) {
      deleteTree(runDir);
      kept = null;
    } else {
      System.out.println("faults: run dir kept in " + runDir);
    }
    return new Outcome(summary, failed, kept, result, lines);
  }

  private String summary(Map<String, Integer> faultCounts, History history, CheckResult r) {
    StringBuilder sb = new StringBuilder("faults: seed=").append(options.seed()).append(" duration=")
        .append(options.durationSec()).append("s faults=").append(faultCounts.values().stream().mapToInt(i -> i).sum())
        .append(" (");
    List<String> parts = new ArrayList<>();
    faultCounts.forEach((k, v) -> parts.add(k + "=" + v));
    sb.append(String.join(" ", parts)).append(") acked=").append(history.snapshotAcks().size());
    r.counts().forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
    r.fields().forEach((k, v) -> sb.append(' ').append(k).append(v.startsWith("{") ? "" : "=").append(v));
    return sb.toString();
  }

  /** Reads every partition from the beginning to its (stable) high watermark with a fresh consumer. */
  private FinalState readFinal(FaultCluster cluster) throws InterruptedException {
    int n = options.partitions();
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < n; p++) tps.add(new TopicPartition(TOPIC, p));
    // The high watermarks once they stopped moving; a partition without a leader is unreadable.
    long[] hw = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<String> problems = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      long[] now = new long[n];
      for (TopicPartition tp : tps) {
        Long e = endOffset(cluster, tp, problems);
        now[tp.partition()] = e == null ? -1 : e;
      }
      if (hw != null && Arrays.equals(now, hw)) break;
      hw = now;
      Thread.sleep(500); // poll interval of a deadline-bounded wait
    }
    boolean[] unreadable = new boolean[n];
    for (int p = 0; p < n; p++) {
      if (hw[p] < 0) {
        unreadable[p] = true;
        hw[p] = 0;
      }
    }
    long[][] values = new long[n][];
    for (int p = 0; p < n; p++) values[p] = new long[Math.toIntExact(hw[p])];
    FinalState f = new FinalState(hw, values);
    for (int p = 0; p < n; p++) {
      if (unreadable[p]) f.unreadable(p).problem("partition " + p + " has no end offset after the final heal");
    }
    // One consumer per partition: a partition that cannot be read must not hide the others.
    for (TopicPartition tp : tps) {
      int p = tp.partition();
      if (unreadable[p]) continue;
      ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(cluster.allAddresses()).autoOffsetReset("none")
          .maxPollRecords(10_000).requestTimeoutMs(10_000).build();
      long readDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      long pos = 0;
      long garbled = 0;
      String lastError = null;
      try (Consumer<String, String> c = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
        c.assign(List.of(tp));
        c.seek(tp, 0);
        while (pos < hw[p] && System.nanoTime() < readDeadline) {
          try {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
              if (r.offset() >= hw[p]) continue;
              long id = ValueIds.parse(r.value());
              if (id <= 0 && garbled++ < 3) {
                f.problem("final read of partition " + p + ": offset " + r.offset() + " holds a value that is not one of this run's (corrupt?)");
              }
              values[p][(int) r.offset()] = Math.max(0, id);
            }
            pos = c.position(tp);
          } catch (RuntimeException e) {
            lastError = String.valueOf(e);
          }
        }
      }
      if (pos < hw[p]) {
        f.problem("final read of partition " + p + " stopped at offset " + pos + " below its high watermark " + hw[p]
            + (lastError == null ? "" : ": " + lastError));
      }
    }
    problems.forEach(f::problem);
    log("final read: high watermarks " + Arrays.toString(hw));
    return f;
  }

  private static Long endOffset(FaultCluster cluster, TopicPartition tp, List<String> problems) {
    ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(cluster.allAddresses()).requestTimeoutMs(5_000).build();
    try (Consumer<String, String> c = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      return c.endOffsets(List.of(tp)).get(tp);
    } catch (RuntimeException e) {
      if (problems.size() < 5) problems.add("end offset of partition " + tp.partition() + ": " + e);
      return null;
    }
  }

  /** Every node's batches below the high watermarks, as fingerprints per offset, from its files. */
  private void readReplicas(FaultCluster cluster, FinalState end) {
    for (int id = 1; id <= FaultCluster.SIZE; id++) {
      long[][] prints = new long[options.partitions()][];
      for (int p = 0; p < options.partitions(); p++) {
        long hw = end.highWatermarks[p];
        long[] fp = new long[Math.toIntExact(hw)];
        prints[p] = fp;
        Path dir = cluster.dataDir(id).resolve("logs").resolve(TOPIC + "-" + p);
        try (PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(), System::currentTimeMillis)) {
          long next = log.logStartOffset();
          while (next < hw) {
            ReadResult r = log.read(next, 1 << 20, hw);
            if (r.records().isEmpty()) break;
            ByteBuffer b = r.records().asReadOnlyByteBuffer();
            int pos = 0;
            long before = next;
            while (pos < b.limit()) {
              int size = StoredBatch.frameSizeAt(b, pos, b.limit());
              if (size <= 0) break;
              long base = StoredBatch.baseOffset(b, pos);
              long last = StoredBatch.lastOffset(b, pos);
              long print = StoredBatch.isValid(b, pos, size)
                  ? mix(base, last, StoredBatch.crc(b, pos)) : 0;
              for (long o = Math.max(base, 0); o <= last && o < hw; o++) fp[(int) o] = print;
              next = last + 1;
              pos += size;
            }
            if (next == before) break;
          }
        } catch (Exception e) {
          end.problem("node " + id + " partition " + p + ": cannot read its log: " + e);
        }
      }
      end.replica(id, prints);
    }
  }

  static long mix(long base, long last, int crc) {
    long h = base * 0x9E3779B97F4A7C15L ^ (last + 0x632BE59BD9B4E019L) * 0xC2B2AE3D27D4EB4FL ^ (crc & 0xffffffffL);
    return h == 0 ? 1 : h;
  }

  private static void awaitProgress(Workload w, long n, long timeoutMs, History history, String when) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    long start = w.progress();
    while (w.progress() - start < n) {
      if (System.nanoTime() > deadline) throw new IllegalStateException(w.name() + " made no progress " + when + ": " + w.stats());
      Thread.sleep(100); // poll interval of a deadline-bounded wait
    }
  }

  private static long between(Random rng, long min, long max) {
    return max <= min ? min : min + (long) (rng.nextDouble() * (max - min));
  }

  /** The nemesis's scheduled pause (the fault's hold time, the quiet time between faults). */
  private static void pause(long ms, long deadlineNanos) throws InterruptedException {
    long until = Math.min(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms), deadlineNanos);
    long left;
    while ((left = until - System.nanoTime()) > 0) TimeUnit.NANOSECONDS.sleep(Math.min(left, 200_000_000L));
  }

  private double secs(long nanos) {
    return (nanos - t0) / 1e9;
  }

  /** The wall-clock time (UTC, ms) of a monotonic time of this run, to find it in the node logs. */
  private String wallClock(long nanos) {
    return MILLIS_UTC.format(Instant.ofEpochMilli(t0WallMs + TimeUnit.NANOSECONDS.toMillis(nanos - t0)));
  }

  private void log(String s) {
    String line = String.format("[%s %6.1f s] %s", SECONDS_UTC.format(Instant.now()), secs(System.nanoTime()), s);
    report.add(line);
    System.out.println(line);
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort
        }
      });
    } catch (IOException e) {
      // best effort
    }
  }
}
