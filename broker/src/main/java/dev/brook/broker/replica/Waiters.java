package dev.brook.broker.replica;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One-shot callbacks waiting for a partition's high watermark to move (long-polling fetches,
 * acks=all produces). Thread-safe. A callback registered concurrently with {@link #fire} either
 * runs in that fire or stays for the next: callers re-check their condition after registering,
 * so no wake-up is lost. Callbacks must be cheap and must not block: they typically hand work to
 * an executor. One callback that throws does not keep the others from running.
 */
final class Waiters {
  private static final Logger LOG = LoggerFactory.getLogger(Waiters.class);

  private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();

  void add(Runnable callback) {
    queue.add(callback);
  }

  /** Removes a callback that is no longer needed (its request completed another way). */
  void remove(Runnable callback) {
    queue.remove(callback);
  }

  /**
   * Runs (and removes) the callbacks registered so far. A callback that registers itself again
   * while it runs waits for the next fire: draining first keeps that from looping forever.
   */
  void fire() {
    Runnable first = queue.poll();
    if (first == null) return;
    List<Runnable> batch = new ArrayList<>();
    batch.add(first);
    Runnable r;
    while ((r = queue.poll()) != null) {
      batch.add(r);
    }
    for (Runnable callback : batch) {
      try {
        callback.run();
      } catch (RuntimeException e) {
        // The others wait for the same event (an acks=all answer, a fetch): they must still run.
        LOG.error("a high watermark waiter failed: {}", e.toString(), e);
      }
    }
  }

  int size() {
    return queue.size();
  }
}
