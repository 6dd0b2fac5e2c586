package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRebalanceListener;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code bin/brook perf rebalance}: how a consumer group rebalances while records flow at a fixed
 * rate. Two measurements, each with a fresh group:
 * <ol>
 *   <li><b>join</b>: {@code --members} members (in this process) share the topic; once every
 *       partition is consumed, one more member subscribes. Reported: how long after its
 *       {@code subscribe} the newcomer got its first record, how long until every partition had
 *       one owner again, and the longest pause, during the rebalance, between two records of a
 *       partition that an existing member kept (it never stops consuming those, so this stays
 *       near the per-partition record interval).
 *   <li><b>kill</b>: {@code --members} {@code bin/brook consume --group} processes (this jar);
 *       once every partition is consumed, one is killed with SIGKILL. Reported: how long until
 *       every partition it was printing was printed by another member (at most the brokers'
 *       {@code group.consumer.session.timeout.ms} plus the reassignment).
 * </ol>
 */
@Command(name = "rebalance", description = {
    "Measure a consumer group's rebalances on --topic while producing --rate records/sec: a member",
    "joining (its first record, and the longest pause on partitions the others kept), and a member",
    "process killed with SIGKILL (until its partitions are consumed again)."})
final class RebalancePerf implements Callable<Integer> {
  private static final long STEADY_TIMEOUT_MS = 60_000;

  @Spec
  CommandSpec spec;

  @Mixin
  ClientOptions client;

  @Option(names = "--topic", required = true, description = "An existing topic (a few partitions per member).")
  String topic;

  @Option(names = "--members", defaultValue = "3", description = "Members before the change (default: 3).")
  int members;

  @Option(names = "--rate", defaultValue = "1200", description = "Records/sec produced over all partitions (default: 1200).")
  int rate;

  @Option(names = "--skip-kill", description = "Only measure the join (no member processes).")
  boolean skipKill;

  private volatile boolean producing = true;

  @Override
  public Integer call() throws Exception {
    if (members < 1 || rate < 1) throw new Failures.CliException("--members and --rate must be >= 1");
    PrintWriter out = spec.commandLine().getOut();
    int partitions;
    try (Admin admin = Admin.create(client.bootstrapServer)) {
      partitions = admin.describeTopics(List.of(topic)).join().get(topic).partitions().size();
    }
    Thread producer = new Thread(() -> produce(partitions), "perf-rebalance-producer");
    producer.setDaemon(true);
    producer.start();
    try {
      out.println(join(partitions));
      out.flush();
      if (!skipKill) out.println(kill(partitions));
    } finally {
      producing = false;
      producer.join(10_000);
    }
    return 0;
  }

  /** Sends round-robin over the partitions at --rate until the run ends. */
  private void produce(int partitions) {
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(client.bootstrapServer).acks("1").lingerMs(1).build();
    try (Producer<String, String> p = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      Throttler throttler = new Throttler(rate, System.nanoTime());
      for (long i = 0; producing; i++) {
        p.send(new ProducerRecord<>(topic, (int) (i % partitions), null, "r" + i));
        throttler.throttle(i + 1);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Join

  /** One in-process member: what it owns, when each of its partitions last delivered, and the longest gap since a mark. */
  private final class Member implements AutoCloseable {
    final Consumer<String, String> consumer;
    final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
    final Map<Integer, Long> lastArrival = new ConcurrentHashMap<>();
    final Map<Integer, Long> maxGapSinceMark = new ConcurrentHashMap<>();
    final AtomicLong firstRecordNanos = new AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;
    volatile long markNanos = Long.MAX_VALUE;

    Member(String group, String name) {
      consumer = new Consumer<>(ConsumerConfig.builder().bootstrapServers(client.bootstrapServer).groupId(group)
          .clientId(name).autoOffsetReset("latest").build(), Serdes.stringDeserializer(), Serdes.stringDeserializer());
      thread = new Thread(this::run, "perf-rebalance-" + name);
      thread.setDaemon(true);
    }

    void start() {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          owned.removeAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          owned.addAll(partitions);
        }
      });
      thread.start();
    }

    private void run() {
      try {
        while (!stop.get()) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
            long now = System.nanoTime();
            firstRecordNanos.compareAndSet(0, now);
            Long before = lastArrival.put(r.partition(), now);
            if (before != null && now >= markNanos) maxGapSinceMark.merge(r.partition(), now - Math.max(before, markNanos), Math::max);
          }
        }
      } catch (RuntimeException e) {
        if (!stop.get()) throw e;
      } finally {
        consumer.close();
      }
    }

    /** Whether each of its partitions delivered within the last second. */
    boolean consumingAll(long now) {
      if (owned.isEmpty()) return false;
      for (TopicPartition tp : owned) {
        Long at = lastArrival.get(tp.partition());
        if (at == null || now - at > TimeUnit.SECONDS.toNanos(1)) return false;
      }
      return true;
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      consumer.wakeup();
      thread.join(30_000);
    }
  }

  private String join(int partitions) throws Exception {
    String group = "perf-rebalance-join-" + System.currentTimeMillis();
    List<Member> group0 = new ArrayList<>();
    try {
      for (int i = 0; i < members; i++) {
        Member m = new Member(group, "member-" + i);
        group0.add(m);
        m.start();
      }
      awaitUntil("every partition is consumed by the first " + members + " members",
          () -> owners(group0) == partitions && group0.stream().allMatch(m -> m.consumingAll(System.nanoTime())));
      // The same measure without a rebalance, for comparison: the longest pause over 3 s.
      long baselineFrom = System.nanoTime();
      for (Member m : group0) m.markNanos = baselineFrom;
      Thread.sleep(3_000); // the comparison window
      long baseline = 0;
      for (Member m : group0) {
        for (long g : m.maxGapSinceMark.values()) baseline = Math.max(baseline, g);
        m.markNanos = Long.MAX_VALUE;
        m.maxGapSinceMark.clear();
      }
      Map<Member, Set<TopicPartition>> before = new java.util.HashMap<>();
      for (Member m : group0) before.put(m, Set.copyOf(m.owned));
      Member newcomer = new Member(group, "member-" + members);
      long t0 = System.nanoTime();
      for (Member m : group0) m.markNanos = t0;
      newcomer.start();
      group0.add(newcomer);
      awaitUntil("the newcomer gets a record", () -> newcomer.firstRecordNanos.get() != 0);
      long first = newcomer.firstRecordNanos.get() - t0;
      awaitUntil("every partition has one owner again", () -> owners(group0) == partitions && totalOwned(group0) == partitions
          && group0.stream().allMatch(m -> m.consumingAll(System.nanoTime())));
      long settled = System.nanoTime() - t0;
      long maxGap = 0;
      int kept = 0;
      int moved = 0;
      for (Map.Entry<Member, Set<TopicPartition>> e : before.entrySet()) {
        for (TopicPartition tp : e.getValue()) {
          if (e.getKey().owned.contains(tp)) {
            kept++;
            maxGap = Math.max(maxGap, e.getKey().maxGapSinceMark.getOrDefault(tp.partition(), 0L));
          } else {
            moved++;
          }
        }
      }
      return String.format("join: %d -> %d members on %d partitions at %d records/sec: newcomer's first record %d ms after"
              + " subscribe, every partition owned once again after %d ms; %d partitions moved, %d kept, longest pause on a"
              + " kept partition %d ms (without a rebalance: %d ms over 3 s; one record per partition every %.1f ms)",
          members, members + 1, partitions, rate, ms(first), ms(settled), moved, kept, ms(maxGap), ms(baseline),
          1000.0 * partitions / rate);
    } finally {
      for (Member m : group0) m.close();
    }
  }

  private static int owners(List<Member> ms) {
    Set<TopicPartition> all = new java.util.HashSet<>();
    for (Member m : ms) all.addAll(m.owned);
    return all.size();
  }

  private static int totalOwned(List<Member> ms) {
    return ms.stream().mapToInt(m -> m.owned.size()).sum();
  }

  // ---------------------------------------------------------------------------------------------
  // Kill

  /** A {@code consume --group --print-partition} child process and when each partition last printed. */
  private static final class MemberProcess {
    final Process process;
    final Map<Integer, Long> lastLine = new ConcurrentHashMap<>();

    MemberProcess(List<String> command) throws java.io.IOException {
      process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      Thread reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = in.readLine()) != null; ) {
            int tab = line.indexOf('\t');
            if (tab > 0) lastLine.put(Integer.parseInt(line.substring(0, tab)), System.nanoTime());
          }
        } catch (java.io.IOException | NumberFormatException e) {
          // the process ended
        }
      }, "perf-rebalance-reader");
      reader.setDaemon(true);
      reader.start();
    }

    /** Partitions that printed within the last second. */
    Set<Integer> active(long now) {
      Set<Integer> out = new java.util.TreeSet<>();
      lastLine.forEach((p, at) -> {
        if (now - at <= TimeUnit.SECONDS.toNanos(1)) out.add(p);
      });
      return out;
    }
  }

  private String kill(int partitions) throws Exception {
    String group = "perf-rebalance-kill-" + System.currentTimeMillis();
    String java = ProcessHandle.current().info().command().orElse("java");
    String jar = Path.of(RebalancePerf.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    List<String> command = List.of(java, "-jar", jar, "consume", "--bootstrap-server=" + client.bootstrapServer,
        "--topic=" + topic, "--group=" + group, "--print-partition");
    List<MemberProcess> children = new ArrayList<>();
    try {
      for (int i = 0; i < members; i++) children.add(new MemberProcess(command));
      awaitUntil("every partition is printed by the member processes", () -> {
        long now = System.nanoTime();
        Set<Integer> all = new java.util.HashSet<>();
        for (MemberProcess c : children) {
          if (c.active(now).isEmpty()) return false;
          all.addAll(c.active(now));
        }
        return all.size() == partitions;
      });
      MemberProcess victim = children.get(0);
      Set<Integer> orphaned = victim.active(System.nanoTime());
      long t0 = System.nanoTime();
      victim.process.destroyForcibly(); // SIGKILL
      victim.process.waitFor(10, TimeUnit.SECONDS);
      Map<Integer, Long> resumed = new ConcurrentHashMap<>();
      awaitUntil("the killed member's partitions are consumed again", () -> {
        for (int p : orphaned) {
          for (MemberProcess c : children.subList(1, children.size())) {
            Long at = c.lastLine.get(p);
            if (at != null && at > t0) resumed.putIfAbsent(p, at - t0);
          }
        }
        return resumed.keySet().containsAll(orphaned);
      }, 180_000);
      long worst = resumed.values().stream().mapToLong(Long::longValue).max().orElse(0);
      return String.format("kill: SIGKILL of 1 of %d member processes that consumed %d partitions: all consumed again by"
          + " the others after %d ms (first %d ms)", members, orphaned.size(), ms(worst),
          ms(resumed.values().stream().mapToLong(Long::longValue).min().orElse(0)));
    } finally {
      for (MemberProcess c : children) {
        c.process.destroy();
        if (!c.process.waitFor(15, TimeUnit.SECONDS)) c.process.destroyForcibly();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static void awaitUntil(String what, java.util.function.BooleanSupplier condition) throws Exception {
    awaitUntil(what, condition, STEADY_TIMEOUT_MS);
  }

  private static void awaitUntil(String what, java.util.function.BooleanSupplier condition, long timeoutMs) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new Failures.CliException("timed out after " + timeoutMs + " ms waiting until " + what);
      Thread.sleep(5); // polling interval of a measurement, not a test wait
    }
  }
}
