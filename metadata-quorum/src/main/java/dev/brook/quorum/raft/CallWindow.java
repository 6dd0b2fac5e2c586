package dev.brook.quorum.raft;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Bounds how many asynchronous calls are in flight on one client without ever blocking the caller,
 * and hands every outcome to the caller on a thread of its own.
 *
 * <p>Why: a Ratis client admits at most {@code raft.client.async.outstanding-requests.max}
 * requests and makes the caller of {@code async().send} <em>wait</em> on a semaphore for the next
 * one. Its permits are given back by its reply thread, which completes our futures while it holds
 * the client's sliding-window lock. A continuation that sends the next request from that thread
 * (a group write that follows a committed one) then waits for a permit that only the same thread
 * can give back: with more than that many calls outstanding, every quorum call of the node stopped
 * for good (found with 1,000 groups of 10 members).
 *
 * <p>Rules (invariants):
 * <ul>
 *   <li>At most {@code limit} calls are started and not yet completed. The owner configures the
 *       underlying client to admit more than that, so starting a call never blocks.
 *   <li>{@link #submit} never blocks: a call beyond the limit waits in a FIFO queue, and calls
 *       start in the order they were submitted (a freed slot passes straight to the head of the
 *       queue, so a later submit cannot overtake it).
 *   <li>A queued call whose result the caller already completed (it gave up: a timeout or a
 *       cancel) is dropped without being started.
 *   <li>Results are completed on the callback executor, never on the thread that completed the
 *       underlying call, and queued calls are started there too: no caller code runs on the
 *       client's reply thread.
 * </ul>
 * Thread-safe.
 */
public final class CallWindow {
  /** In flight on one client at a time; Ratis is configured to admit {@link #RATIS_OUTSTANDING_MAX}. */
  static final int DEFAULT_LIMIT = 64;
  /** The Ratis client's own limit: above {@link #DEFAULT_LIMIT}, so that its semaphore never waits. */
  public static final int RATIS_OUTSTANDING_MAX = 2 * DEFAULT_LIMIT;

  private static final AtomicInteger THREADS = new AtomicInteger();
  /**
   * Shared by every window of the JVM. Cached, not fixed: a continuation may wait for another
   * quorum call, whose outcome must still find a thread. Idle threads end after a minute.
   */
  private static final ExecutorService CALLBACKS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "brook-quorum-callback-" + THREADS.incrementAndGet());
    t.setDaemon(true);
    return t;
  });

  private final int limit;
  private final Executor callbacks;

  // Guarded by this.
  private final ArrayDeque<Queued<?>> queue = new ArrayDeque<>();
  private int inFlight;

  public CallWindow() {
    this(DEFAULT_LIMIT, CALLBACKS);
  }

  CallWindow(int limit, Executor callbacks) {
    if (limit < 1) throw new IllegalArgumentException("limit must be at least 1: " + limit);
    this.limit = limit;
    this.callbacks = callbacks;
  }

  /**
   * Starts {@code call} now when a slot is free, else when one frees up. The result completes with
   * the call's outcome (on the callback executor); the caller may complete it first to give up.
   */
  public <T> CompletableFuture<T> submit(Supplier<CompletableFuture<T>> call) {
    Queued<T> q = new Queued<>(call, new CompletableFuture<>());
    boolean startNow;
    synchronized (this) {
      startNow = inFlight < limit;
      if (startNow) {
        inFlight++;
      } else {
        queue.addLast(q);
      }
    }
    if (startNow) start(q);
    return q.result;
  }

  /** Calls started and not completed yet. */
  synchronized int inFlight() {
    return inFlight;
  }

  /** Calls waiting for a slot. */
  synchronized int queued() {
    return queue.size();
  }

  /** Runs {@code q} in a slot that is already counted as taken. */
  private <T> void start(Queued<T> q) {
    CompletableFuture<T> f;
    try {
      f = q.call.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenCompleteAsync((r, e) -> {
      release();
      if (e != null) {
        q.result.completeExceptionally(e);
      } else {
        q.result.complete(r);
      }
    }, callbacks);
  }

  /** A call completed: its slot goes to the first queued call still wanted, or is freed. */
  private void release() {
    Queued<?> next;
    synchronized (this) {
      do {
        next = queue.pollFirst();
      } while (next != null && next.result.isDone());
      if (next == null) inFlight--;
    }
    if (next != null) start(next);
  }

  private record Queued<T>(Supplier<CompletableFuture<T>> call, CompletableFuture<T> result) { }
}
