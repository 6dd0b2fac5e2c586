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

  /**
   * Runs (and removes) the callbacks registered so far. A callback that registers itself again
   * while it runs waits for the next fire: draining first keeps that from looping forever.
   */
  void fire() {
    Runnable first = queue.poll();
    if (first == null) return;
    java.util.List<Runnable> batch = new java.util.ArrayList<>();
    batch.add(first);
    Runnable r;
    while ((r = queue.poll()) != null) {
      batch.add(r);
    }
    for (Runnable callback : batch) {
      callback.run();
    }
  }

  int size() {
    return queue.size();
  }
}
