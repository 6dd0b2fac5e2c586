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
 * {@code p<id>-<seq>} (keyed {@code k<seq % 30>} so that every producer writes to every
 * partition) at about {@code rate} records/s with at most {@code window} unanswered; every
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
    final Semaphore window;
    final int windowSize;
    final AtomicLong sent = new AtomicLong();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

    One(int id, RunContext ctx) {
      this.id = id;
      this.ctx = ctx;
      this.windowSize = ctx.options().window();
      this.window = new Semaphore(windowSize);
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
          if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
          long s = seq++;
          sent.incrementAndGet();
          try {
            producer.send(new ProducerRecord<>(ctx.topic(), "k" + (s % KEYS), ValueIds.value(id, s, size)))
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

    static String reason(Throwable e) {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      String message = String.valueOf(cause.getMessage());
      return cause.getClass().getSimpleName() + ": " + (message.length() > 80 ? message.substring(0, 80) : message);
    }

    /** Waits for the thread, then (up to the delivery timeout and a margin) for outstanding sends. */
    void finish() throws InterruptedException {
      thread.join(10_000);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(75);
      while (window.availablePermits() < windowSize && System.nanoTime() < deadline) {
        Thread.sleep(100); // poll interval of a deadline-bounded wait
      }
      if (window.availablePermits() < windowSize) {
        ctx.history().note("producer " + id + ": " + (windowSize - window.availablePermits())
            + " sends still outstanding 75 s after it stopped");
      }
      producer.close(Duration.ofSeconds(5));
    }
  }
}
