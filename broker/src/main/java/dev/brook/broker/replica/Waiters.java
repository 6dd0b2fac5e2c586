package dev.brook.broker.replica;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One-shot callbacks waiting for a partition's high watermark to move (long-polling fetches,
 * acks=all produces). Thread-safe. A callback registered concurrently with {@link #fire} either
 * runs in that fire or stays for the next: callers re-check their condition after registering,
 * so no wake-up is lost. Callbacks must be cheap and must not block: they typically hand work to
 * an executor.
 */
final class Waiters {
  private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();

  void add(Runnable callback) {
    queue.add(callback);
  }

  /** Removes a callback that is no longer needed (its request completed another way). */
  void remove(Runnable callback) {
    queue.remove(callback);
  }

  void fire() {
    Runnable r;
    while ((r = queue.poll()) != null) {
      r.run();
    }
  }

  int size() {
    return queue.size();
  }
}
