package dev.brook.cli;

import dev.brook.client.BrookException;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRebalanceListener;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.ConsumerRecords;
import dev.brook.client.Header;
import dev.brook.client.OffsetAndMetadata;
import dev.brook.client.PartitionInfo;
import dev.brook.client.TopicPartition;
import dev.brook.client.WakeupException;
import dev.brook.client.serialization.Serdes;
import java.io.BufferedWriter;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "consume", description = {
    "Print the records of a topic, one value per line.",
    "Runs until --max-messages records were printed, until no record arrived for --timeout-ms, or until interrupted."})
final class ConsumeCommand implements Callable<Integer> {
  /** How often --group commits what was printed. */
  private static final long COMMIT_INTERVAL_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Mixin
  ClientOptions client;

  @Option(names = "--topic", required = true, description = "The topic to read.")
  String topic;

  @Option(names = "--group", description = {"Join this consumer group: its members share the topic's partitions, and",
      "each record printed is committed (at-least-once). Starts at the group's committed offsets, else at",
      "the end (with --from-beginning: at the log start)."})
  String group;

  @Option(names = "--partition", description = "Read only this partition (default: all).")
  Integer partition;

  @Option(names = "--from-beginning", description = "Start at the earliest offset instead of the end.")
  boolean fromBeginning;

  @Option(names = "--offset", description = {"Start at this offset (needs --partition). An offset out of range [log start, end]",
      "starts at the end (with --from-beginning: at the log start) and says so on stderr."})
  Long offset;

  @Option(names = "--max-messages", description = "Exit after printing this many records.")
  Long maxMessages;

  @Option(names = "--timeout-ms", description = "Exit when no record arrived for this long.")
  Long timeoutMs;

  @Option(names = "--print-key", description = "Print the key (empty when there is none) before the value.")
  boolean printKey;

  @Option(names = "--print-partition", description = "Print the partition before the value.")
  boolean printPartition;

  @Option(names = "--print-offset", description = "Print the offset before the value.")
  boolean printOffset;

  @Option(names = "--print-headers", description = "Print the headers (k=v,k=v) before the value.")
  boolean printHeaders;

  @Override
  public Integer call() throws Exception {
    if (group != null && (partition != null || offset != null)) {
      throw new Failures.CliException("--group assigns partitions itself: it cannot be used with --partition or --offset");
    }
    if (maxMessages != null && maxMessages < 1) throw new Failures.CliException("--max-messages must be >= 1");
    if (timeoutMs != null && timeoutMs < 0) throw new Failures.CliException("--timeout-ms must be >= 0");
    if (offset != null && partition == null) throw new Failures.CliException("--offset needs --partition");
    PrintWriter err = spec.commandLine().getErr();
    ConsumerConfig config = ConsumerConfig.builder()
        .bootstrapServers(client.bootstrapServer)
        .clientId("brook-cli")
        .groupId(group)
        // The CLI commits exactly what it printed (a record not printed is never committed).
        .enableAutoCommit(false)
        .autoOffsetReset(fromBeginning ? "earliest" : "latest")
        // Never skip or rewind silently: e.g. --offset past the end, or records deleted by retention.
        .offsetResetListener(event -> {
          err.println("warning: " + event.describe());
          err.flush();
        })
        .build();
    PrintWriter out = new PrintWriter(new BufferedWriter(
        new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16));
    CountDownLatch finished = new CountDownLatch(1);
    try (Consumer<String, String> consumer = new Consumer<>(config, Serdes.stringDeserializer(),
        Serdes.stringDeserializer())) {
      Thread main = Thread.currentThread();
      Thread hook = new Thread(() -> {
        consumer.wakeup();
        try {
          finished.await();
        } catch (InterruptedException e) {
          main.interrupt();
        }
      }, "brook-consume-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        consume(consumer, out);
      } catch (WakeupException e) {
        // Interrupted by Ctrl-C: what was printed stands.
      } finally {
        out.flush();
        finished.countDown();
      }
    }
    return 0;
  }

  /** Next offset per partition after the last printed record, for --group (committed on the way). */
  private final Map<TopicPartition, OffsetAndMetadata> printedUpTo = new HashMap<>();
  private long lastCommitNanos = System.nanoTime();

  private void commitPrinted(Consumer<String, String> consumer, java.util.Collection<TopicPartition> only) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : only) {
      OffsetAndMetadata o = printedUpTo.remove(tp);
      if (o != null) offsets.put(tp, o);
    }
    if (offsets.isEmpty()) return;
    try {
      consumer.commitSync(offsets);
    } catch (BrookException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("warning: committing offsets of group " + group + " failed: " + e.getMessage());
      err.flush();
    }
  }

  /** With --group, commits what was printed once the commit interval passed. */
  private void maybeCommit(Consumer<String, String> consumer) {
    if (group == null || printedUpTo.isEmpty() || System.nanoTime() - lastCommitNanos <= COMMIT_INTERVAL_NANOS) return;
    lastCommitNanos = System.nanoTime();
    commitPrinted(consumer, List.copyOf(printedUpTo.keySet()));
  }

  private void consumeGroup(Consumer<String, String> consumer, PrintWriter out) {
    consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
        out.flush();
        commitPrinted(consumer, partitions);
      }

      @Override
      public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {}

      @Override
      public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
        partitions.forEach(printedUpTo::remove); // others own them now: their commit would fail
      }
    });
    try {
      printLoop(consumer, out);
    } finally {
      out.flush();
      commitPrinted(consumer, List.copyOf(printedUpTo.keySet()));
    }
  }

  private void consume(Consumer<String, String> consumer, PrintWriter out) {
    if (group != null) {
      consumeGroup(consumer, out);
      return;
    }
    List<TopicPartition> partitions = new ArrayList<>();
    List<PartitionInfo> infos = TopicLookup.forConsumer(consumer, topic);
    TopicLookup.checkPartition(topic, infos, partition);
    for (PartitionInfo p : infos) {
      if (partition == null || p.partition() == partition) partitions.add(new TopicPartition(topic, p.partition()));
    }
    consumer.assign(partitions);
    if (offset != null) {
      consumer.seek(partitions.get(0), offset);
    } else if (fromBeginning) {
      consumer.seekToBeginning(partitions);
    } else {
      consumer.seekToEnd(partitions);
    }
    printLoop(consumer, out);
  }

  private void printLoop(Consumer<String, String> consumer, PrintWriter out) {
    long printed = 0;
    long lastRecordNanos = System.nanoTime();
    StringBuilder line = new StringBuilder(256);
    while (maxMessages == null || printed < maxMessages) {
      long waitMs = 500;
      if (timeoutMs != null) {
        long idleMs = (System.nanoTime() - lastRecordNanos) / 1_000_000;
        if (idleMs >= timeoutMs) break;
        waitMs = Math.min(waitMs, timeoutMs - idleMs);
      }
      ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(Math.max(1, waitMs)));
      if (records.isEmpty()) {
        maybeCommit(consumer); // what the last records printed is committed even when nothing follows
        continue;
      }
      lastRecordNanos = System.nanoTime();
      for (ConsumerRecord<String, String> r : records) {
        line.setLength(0);
        if (printKey) line.append(r.key() == null ? "" : r.key()).append('\t');
        if (printPartition) line.append(r.partition()).append('\t');
        if (printOffset) line.append(r.offset()).append('\t');
        if (printHeaders) {
          List<Header> headers = r.headers();
          for (int i = 0; headers != null && i < headers.size(); i++) {
            if (i > 0) line.append(',');
            Header h = headers.get(i);
            line.append(h.key()).append('=').append(h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
          }
          line.append('\t');
        }
        line.append(r.value() == null ? "" : r.value());
        out.println(line);
        printed++;
        if (group != null) printedUpTo.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        if (maxMessages != null && printed >= maxMessages) break;
      }
      out.flush();
      maybeCommit(consumer);
    }
  }
}
