package dev.brook.cli;

import dev.brook.client.Producer;
import dev.brook.client.ProducerRecord;
import dev.brook.client.RecordMetadata;
import dev.brook.client.serialization.Serdes;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "produce", description = {
    "Send one record per line of standard input.",
    "Exits 0 only when every record was acknowledged."})
final class ProduceCommand implements Callable<Integer> {
  /**
   * One request in flight per broker, and so one batch per partition: without an idempotent
   * producer this is what keeps the lines of a partition in input order when a batch is retried
   * after a leader failover. Lines still go out in batches of many records.
   */
  private static final int ORDERED_IN_FLIGHT = 1;

  @Spec
  CommandSpec spec;

  @Mixin
  ClientOptions client;

  @Mixin
  ProducerOptions producer;

  @Option(names = "--topic", required = true, description = "The topic to write to.")
  String topic;

  @Option(names = "--key-separator", paramLabel = "SEP",
      description = "Split each line at the first SEP: key before, value after. Lines without SEP have no key.")
  String keySeparator;

  @Option(names = "--partition", description = "Write every record to this partition instead of choosing by key.")
  Integer partition;

  @Override
  public Integer call() throws Exception {
    if (keySeparator != null && keySeparator.isEmpty()) {
      throw new Failures.CliException("--key-separator must not be empty");
    }
    AtomicLong failed = new AtomicLong();
    AtomicReference<Throwable> firstError = new AtomicReference<>();
    long sent = 0;
    try (Producer<String, String> p = new Producer<>(producer.config(client.bootstrapServer, "all", ORDERED_IN_FLIGHT),
        Serdes.stringSerializer(), Serdes.stringSerializer());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16)) {
      // A dead broker or a topic that does not exist: one error line within seconds, before reading stdin.
      TopicLookup.checkPartition(topic, TopicLookup.forProducer(p, topic), partition);
      String line;
      while ((line = in.readLine()) != null) {
        String key = null;
        String value = line;
        if (keySeparator != null) {
          int at = line.indexOf(keySeparator);
          if (at >= 0) {
            key = line.substring(0, at);
            value = line.substring(at + keySeparator.length());
          }
        }
        CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>(topic, partition, null, key, value, null));
        f.whenComplete((md, e) -> {
          if (e != null) {
            failed.incrementAndGet();
            firstError.compareAndSet(null, e);
          }
        });
        sent++;
      }
      p.flush();
    }
    if (failed.get() > 0) {
      throw new Failures.CliException(failed.get() + " of " + sent + " records were not acknowledged: "
          + Failures.describe(firstError.get()));
    }
    PrintWriter err = spec.commandLine().getErr();
    err.flush();
    return 0;
  }
}
