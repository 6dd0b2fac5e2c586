package dev.brook.it.faults;

import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code consumers} readers in assign mode, each reading every partition from the beginning for
 * the whole run and recording each (partition, offset, value) it sees in a
 * {@link History.ConsumedLog}; a different value at an offset it saw before is a
 * {@link History.Conflict}. A reader whose client fails is replaced by a new one that continues
 * at the next offsets.
 */
final class ConsumerWorkload implements Workload {
  private final List<One> readers = new ArrayList<>();

  @Override
  public String name() {
    return "consumers";
  }

  @Override
  public void start(RunContext ctx) {
    for (int i = 0; i < ctx.options().consumers(); i++) {
      One r = new One("c" + i, ctx);
      readers.add(r);
      r.thread.start();
    }
  }

  @Override
  public void stop() throws InterruptedException {
    for (One r : readers) r.stop.set(true);
    for (One r : readers) r.thread.join(15_000);
  }

  @Override
  public long progress() {
    return readers.stream().mapToLong(r -> r.read.get()).sum();
  }

  @Override
  public String stats() {
    return "consumers: read=" + progress() + " errors=" + readers.stream().mapToLong(r -> r.errors.get()).sum();
  }

  private static final class One {
    final String name;
    final RunContext ctx;
    final History.ConsumedLog log;
    final long[] next;
    final Thread thread;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong read = new AtomicLong();
    final AtomicLong errors = new AtomicLong();

    One(String name, RunContext ctx) {
      this.name = name;
      this.ctx = ctx;
      this.log = new History.ConsumedLog(name, ctx.partitions());
      this.next = new long[ctx.partitions()];
      ctx.history().consumed(log);
      thread = new Thread(this::run, "faults-consumer-" + name);
      thread.setDaemon(true);
    }

    private void run() {
      while (!stop.get()) {
        ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(ctx.cluster().allAddresses())
            .clientId("faults-" + name).autoOffsetReset("earliest").requestTimeoutMs(10_000).maxPollRecords(2000).build();
        try (Consumer<String, String> c = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
          List<TopicPartition> tps = new ArrayList<>();
          for (int p = 0; p < ctx.partitions(); p++) tps.add(new TopicPartition(ctx.topic(), p));
          c.assign(tps);
          for (TopicPartition tp : tps) c.seek(tp, next[tp.partition()]);
          while (!stop.get()) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
              long id = ValueIds.parse(r.value());
              if (id <= 0) continue;
              long before = log.see(r.partition(), r.offset(), id);
              if (before != 0 && before != id) {
                ctx.history().conflict(new History.Conflict(name, r.partition(), r.offset(), before, id));
              }
              next[r.partition()] = Math.max(next[r.partition()], r.offset() + 1);
              read.incrementAndGet();
            }
          }
        } catch (RuntimeException e) {
          if (errors.incrementAndGet() <= 5) ctx.history().note("consumer " + name + " restarted after " + e);
          try {
            Thread.sleep(200); // back-off before a new client, not a test wait
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }
  }
}
