package dev.brook.it.faults;

import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.RecordMetadata;
import dev.brook.client.serialization.Serdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code producers} acks=all producers (Java SDK), each on its own thread sending unique values
 * {@code p<id>-<seq>} at about {@code rate} records/s to every partition in turn, with at most
 * {@code window} unanswered per partition: a partition that does not answer (its leader died)
 * does not hold back the others, so availability can be measured per partition. Every
 * acknowledgement goes to the history with its partition and offset. Retries are on, one request
 * in flight per broker (acknowledged offsets then follow send order per partition).
 */
final class ProducerWorkload implements Workload {
  private static final int KEYS = 30;
  private final List<One> producers = new ArrayList<>();

  @Override
  public String name() {
    return "producers";
  }

  @Override
  public void start(RunContext ctx) {
    RunOptions o = ctx.options();
    for (int i = 0; i < o.producers(); i++) {
      One p = new One(i, ctx);
      producers.add(p);
      p.thread.start();
    }
  }

  @Override
  public void stop() throws InterruptedException {
    for (One p : producers) p.stop.set(true);
    for (One p : producers) p.finish();
  }

  @Override
  public long progress() {
    return producers.stream().mapToLong(p -> p.acked.get()).sum();
  }

  long sent() {
    return producers.stream().mapToLong(p -> p.sent.get()).sum();
  }

  long failed() {
    return producers.stream().mapToLong(p -> p.failed.get()).sum();
  }

  @Override
  public String stats() {
    Map<String, Long> failures = new TreeMap<>();
    producers.forEach(p -> p.failures.forEach((k, v) -> failures.merge(k, v.get(), Long::sum)));
    return "producers: sent=" + sent() + " acked=" + progress() + " failed=" + failed() + (failures.isEmpty() ? "" : " " + failures);
  }

  private static final class One {
    final int id;
    final RunContext ctx;
    final Producer<String, String> producer;
    final Thread thread;
    final AtomicBoolean stop = new AtomicBoolean();
    final Semaphore[] windows;
    final int windowSize;
    int nextPartition;
    final AtomicLong sent = new AtomicLong();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

    One(int id, RunContext ctx) {
      this.id = id;
      this.ctx = ctx;
      this.windowSize = ctx.options().window();
      this.windows = new Semaphore[ctx.partitions()];
      for (int p = 0; p < windows.length; p++) windows[p] = new Semaphore(windowSize);
      ProducerConfig pc = ProducerConfig.builder()
          .bootstrapServers(ctx.cluster().allAddresses())
          .clientId("faults-p" + id)
          .acks("all")
          .lingerMs(5)
          .maxInFlightRequests(1)
          .retries(Integer.MAX_VALUE)
          .retryBackoffMs(100)
          .requestTimeoutMs(10_000)
          .deliveryTimeoutMs(60_000)
          .build();
      producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer());
      thread = new Thread(this::run, "faults-producer-" + id);
      thread.setDaemon(true);
    }

    private void run() {
      long intervalNanos = ctx.options().rate() > 0 ? 1_000_000_000L / ctx.options().rate() : 0;
      long next = System.nanoTime();
      int size = ctx.options().valueBytes();
      try {
        for (long seq = 0; !stop.get(); ) {
          if (intervalNanos > 0) {
            long wait = next - System.nanoTime();
            if (wait > 0) TimeUnit.NANOSECONDS.sleep(Math.min(wait, 100_000_000L)); // rate limit, not a test wait
            if (System.nanoTime() < next) continue;
            next = Math.max(next + intervalNanos, System.nanoTime() - 1_000_000_000L);
          }
          int partition = acquirePartition();
          if (partition < 0) {
            TimeUnit.MILLISECONDS.sleep(5); // every partition's window is full: back-off, not a test wait
            continue;
          }
          Semaphore window = windows[partition];
          long s = seq++;
          sent.incrementAndGet();
          try {
            producer.send(new ProducerRecord<>(ctx.topic(), partition, "k" + (s % KEYS), ValueIds.value(id, s, size)))
                .whenComplete((RecordMetadata md, Throwable e) -> {
                  if (e == null) {
                    ctx.history().ack(new History.Ack(id, s, md.partition(), md.offset(), System.nanoTime()));
                    acked.incrementAndGet();
                  } else {
                    failed.incrementAndGet();
                    failures.computeIfAbsent(reason(e), k -> new AtomicLong()).incrementAndGet();
                  }
                  window.release();
                });
          } catch (RuntimeException e) {
            failed.incrementAndGet();
            failures.computeIfAbsent(reason(e), k -> new AtomicLong()).incrementAndGet();
            window.release();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** The next partition (round robin) with room in its window, its permit taken; -1 if none. */
    private int acquirePartition() {
      for (int i = 0; i < windows.length; i++) {
        int p = (nextPartition + i) % windows.length;
        if (windows[p].tryAcquire()) {
          nextPartition = p + 1;
          return p;
        }
      }
      return -1;
    }

    private int outstanding() {
      int n = 0;
      for (Semaphore w : windows) n += windowSize - w.availablePermits();
      return n;
    }

    static String reason(Throwable e) {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      String message = String.valueOf(cause.getMessage());
      return cause.getClass().getSimpleName() + ": " + (message.length() > 80 ? message.substring(0, 80) : message);
    }

    /** Waits for the thread, then (up to the delivery timeout and a margin) for outstanding sends. */
    void finish() throws InterruptedException {
      thread.join(10_000);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(75);
      while (outstanding() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(100); // poll interval of a deadline-bounded wait
      }
      if (outstanding() > 0) {
        ctx.history().note("producer " + id + ": " + outstanding() + " sends still outstanding 75 s after it stopped");
      }
      producer.close(Duration.ofSeconds(5));
    }
  }
}
