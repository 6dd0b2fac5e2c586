package dev.brook.it.faults;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.ConsumerRecords;
import dev.brook.client.OffsetAndMetadata;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code group-members} members of one consumer group ({@value #GROUP}) sharing the topic: each
 * polls, records every (partition, offset, value) it is handed in its slot's
 * {@link History.ConsumedLog}, and commits the positions after those records with
 * {@code commitSync}, recording each acknowledged commit. Every member leaves the group after a
 * seeded lifetime of 10 to 30 s and a new client takes its slot, so the group rebalances all run
 * long on top of the nemesis's faults (coordinator failover among them). After the final heal
 * the group's committed offsets are read for {@link GroupChecker}.
 */
final class GroupWorkload implements Workload {
  static final String GROUP = "faults-group";
  private static final long MIN_LIFETIME_MS = 10_000;
  private static final long MAX_LIFETIME_MS = 30_000;

  private final List<Slot> slots = new ArrayList<>();

  @Override
  public String name() {
    return "group";
  }

  @Override
  public void start(RunContext ctx) {
    for (int i = 0; i < ctx.options().groupMembers(); i++) {
      Slot s = new Slot("g" + i, ctx, new Random(ctx.options().seed() * 31 + i));
      slots.add(s);
      s.thread.start();
    }
  }

  @Override
  public void stop() throws InterruptedException {
    for (Slot s : slots) s.stop.set(true);
    for (Slot s : slots) s.thread.join(30_000);
  }

  @Override
  public void finish(RunContext ctx) {
    if (slots.isEmpty()) return;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = null;
    while (System.nanoTime() < deadline) {
      try (Admin admin = Admin.create(ctx.cluster().allAddresses())) {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listGroupOffsets(GROUP).get(15, TimeUnit.SECONDS);
        Map<Integer, Long> committed = new TreeMap<>();
        offsets.forEach((tp, o) -> {
          if (tp.topic().equals(ctx.topic())) committed.put(tp.partition(), o.offset());
        });
        ctx.history().groupCommitted(committed);
        return;
      } catch (Exception e) {
        last = String.valueOf(e);
      }
    }
    ctx.history().note("group " + GROUP + ": committed offsets not readable after the final heal: " + last);
  }

  @Override
  public long progress() {
    return slots.stream().mapToLong(s -> s.read.get()).sum();
  }

  @Override
  public String stats() {
    return "group: members=" + slots.size() + " clients=" + slots.stream().mapToLong(s -> s.clients.get()).sum()
        + " read=" + progress() + " commits=" + slots.stream().mapToLong(s -> s.commits.get()).sum()
        + " commit-errors=" + slots.stream().mapToLong(s -> s.commitErrors.get()).sum()
        + " errors=" + slots.stream().mapToLong(s -> s.errors.get()).sum();
  }

  /** One member place: successive clients, one at a time, on one thread. */
  private static final class Slot {
    final String name;
    final RunContext ctx;
    final Random rng;
    final History.ConsumedLog log;
    final Thread thread;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong read = new AtomicLong();
    final AtomicLong clients = new AtomicLong();
    final AtomicLong commits = new AtomicLong();
    final AtomicLong commitErrors = new AtomicLong();
    final AtomicLong errors = new AtomicLong();

    Slot(String name, RunContext ctx, Random rng) {
      this.name = name;
      this.ctx = ctx;
      this.rng = rng;
      this.log = new History.ConsumedLog(name, ctx.partitions());
      ctx.history().groupConsumed(log);
      thread = new Thread(this::run, "faults-group-" + name);
      thread.setDaemon(true);
    }

    private void run() {
      while (!stop.get()) {
        long client = clients.incrementAndGet();
        ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(ctx.cluster().allAddresses())
            .groupId(GROUP).clientId("faults-" + name + "-" + client).enableAutoCommit(false)
            .autoOffsetReset("earliest").requestTimeoutMs(10_000).maxPollRecords(2000).build();
        long leaveAt = System.nanoTime()
            + TimeUnit.MILLISECONDS.toNanos(MIN_LIFETIME_MS + (long) (rng.nextDouble() * (MAX_LIFETIME_MS - MIN_LIFETIME_MS)));
        try (Consumer<String, String> c = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
          c.subscribe(List.of(ctx.topic()));
          while (!stop.get() && System.nanoTime() < leaveAt) {
            ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(200));
            Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
            for (ConsumerRecord<String, String> r : records) {
              long id = ValueIds.parse(r.value());
              if (id > 0) {
                long before = log.see(r.partition(), r.offset(), id);
                if (before != 0 && before != id) {
                  ctx.history().conflict(new History.Conflict(name, r.partition(), r.offset(), before, id));
                }
              }
              positions.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1),
                  (a, b) -> a.offset() >= b.offset() ? a : b);
              read.incrementAndGet();
            }
            if (positions.isEmpty()) continue;
            try {
              c.commitSync(positions);
              commits.incrementAndGet();
              positions.forEach((tp, o) -> ctx.history().groupCommitAcked(tp.partition(), o.offset()));
            } catch (RuntimeException e) {
              // Refused (fenced, partition moved) or unanswered during a fault: not acknowledged.
              if (commitErrors.incrementAndGet() <= 5) ctx.history().note("group member " + name + ": commit failed: " + e);
            }
          }
        } catch (RuntimeException e) {
          if (errors.incrementAndGet() <= 5) ctx.history().note("group member " + name + " restarted after " + e);
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
